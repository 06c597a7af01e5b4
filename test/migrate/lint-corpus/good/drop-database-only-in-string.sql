-- expect: none
INSERT INTO ops_notes (note) VALUES ('DROP DATABASE prod; was a close call -- never again');
