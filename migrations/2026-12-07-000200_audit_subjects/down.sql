DROP TRIGGER audit_subjects_on_insert ON audit_log;
DROP TABLE audit_subjects;
DROP FUNCTION audit_subjects_derive();
DROP FUNCTION audit_subjects_of(TEXT, TEXT, JSONB, JSONB);
