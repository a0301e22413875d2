-- What each audit entry is about: the people, products, services and billing records it
-- touched, directly (its object) or through what its object belongs to (a grant's person
-- and product, a task's person and product, a handover's person and what was handed over,
-- an attachment's billing record) or names (user_id, product_id, … in its before/after).
-- Filled by a trigger on every insert into audit_log, so no call site can forget it; read
-- by the History pages, newest first, on (kind, subject_id, audit_id). Append-only too.
CREATE TABLE audit_subjects (
    kind        TEXT NOT NULL CHECK (kind IN ('person', 'product', 'service', 'billing_record')),
    subject_id  BIGINT NOT NULL,
    audit_id    BIGINT NOT NULL REFERENCES audit_log (id),
    -- Copied from the entry, so a History page's filters read this table alone.
    object_type TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, subject_id, audit_id)
);

CREATE FUNCTION audit_subjects_of(object_type TEXT, object_id TEXT, before JSONB, after JSONB)
RETURNS TABLE (kind TEXT, subject_id BIGINT) LANGUAGE sql STABLE AS $$
    WITH o AS (
        SELECT CASE WHEN object_id ~ '^[0-9]{1,18}$' THEN object_id::bigint END AS id
    ), named AS (
        SELECT j.value AS v FROM (SELECT before AS value UNION ALL SELECT after) j
        WHERE jsonb_typeof(j.value) = 'object'
    )
    SELECT DISTINCT s.kind, s.subject_id FROM (
        SELECT 'person' AS kind, o.id AS subject_id FROM o WHERE object_type = 'user'
        UNION ALL SELECT 'product', o.id FROM o WHERE object_type = 'product'
        UNION ALL SELECT 'service', o.id FROM o WHERE object_type = 'service'
        UNION ALL SELECT 'billing_record', o.id FROM o WHERE object_type = 'billing_record'
        UNION ALL SELECT 'service', p.service_id FROM o JOIN products p ON p.id = o.id
            WHERE object_type = 'product'
        UNION ALL SELECT 'person', g.user_id FROM o JOIN access_grants g ON g.id = o.id
            WHERE object_type = 'access_grant'
        UNION ALL SELECT 'product', g.product_id FROM o JOIN access_grants g ON g.id = o.id
            WHERE object_type = 'access_grant'
        UNION ALL SELECT 'person', w.person_id FROM o JOIN workflows w ON w.id = o.id
            WHERE object_type = 'workflow'
        UNION ALL SELECT 'person', w.person_id
            FROM o JOIN tasks t ON t.id = o.id JOIN workflows w ON w.id = t.workflow_id
            WHERE object_type = 'task'
        UNION ALL SELECT 'product', t.product_id FROM o JOIN tasks t ON t.id = o.id
            WHERE object_type = 'task'
        UNION ALL SELECT 'person', w.person_id
            FROM o JOIN handovers h ON h.id = o.id JOIN workflows w ON w.id = h.workflow_id
            WHERE object_type = 'handover'
        UNION ALL SELECT CASE h.kind WHEN 'service_admin' THEN 'service'
                                     WHEN 'product_admin' THEN 'product'
                                     WHEN 'billing_owner' THEN 'billing_record' END,
                         h.object_id
            FROM o JOIN handovers h ON h.id = o.id WHERE object_type = 'handover'
        UNION ALL SELECT 'person', h.new_owner_id FROM o JOIN handovers h ON h.id = o.id
            WHERE object_type = 'handover'
        UNION ALL SELECT 'product', b.product_id FROM o JOIN billing_records b ON b.id = o.id
            WHERE object_type = 'billing_record'
        UNION ALL SELECT 'billing_record', a.billing_record_id
            FROM o JOIN attachments a ON a.id = o.id WHERE object_type = 'attachment'
        UNION ALL SELECT 'person', (v ->> k)::bigint
            FROM named, unnest(ARRAY['user_id', 'person_id']) k
            WHERE jsonb_typeof(v -> k) = 'number'
        UNION ALL SELECT 'product', (v ->> 'product_id')::bigint FROM named
            WHERE jsonb_typeof(v -> 'product_id') = 'number'
        UNION ALL SELECT 'service', (v ->> 'service_id')::bigint FROM named
            WHERE jsonb_typeof(v -> 'service_id') = 'number'
        UNION ALL SELECT 'billing_record', (v ->> 'billing_record_id')::bigint FROM named
            WHERE jsonb_typeof(v -> 'billing_record_id') = 'number'
    ) s
    WHERE s.subject_id IS NOT NULL AND s.kind IS NOT NULL
$$;

CREATE FUNCTION audit_subjects_derive() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_subjects (kind, subject_id, audit_id, object_type, at)
    SELECT s.kind, s.subject_id, NEW.id, NEW.object_type, NEW.at
    FROM audit_subjects_of(NEW.object_type, NEW.object_id, NEW.before, NEW.after) s;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_subjects_on_insert AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_subjects_derive();

-- What was recorded before this migration.
INSERT INTO audit_subjects (kind, subject_id, audit_id, object_type, at)
SELECT s.kind, s.subject_id, a.id, a.object_type, a.at
FROM audit_log a, LATERAL audit_subjects_of(a.object_type, a.object_id, a.before, a.after) s;

CREATE TRIGGER audit_subjects_no_update_delete BEFORE UPDATE OR DELETE ON audit_subjects
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_subjects_no_truncate BEFORE TRUNCATE ON audit_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
