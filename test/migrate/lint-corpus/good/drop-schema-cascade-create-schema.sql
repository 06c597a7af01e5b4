-- expect: none
CREATE SCHEMA IF NOT EXISTS reporting;
CREATE TABLE reporting.daily_totals (day date PRIMARY KEY, total numeric);
