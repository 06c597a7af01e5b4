-- expect: add-foreign-key-not-valid, missing-lock-timeout, missing-statement-timeout
ALTER TABLE enrolments ADD FOREIGN KEY (course_id) REFERENCES courses;
