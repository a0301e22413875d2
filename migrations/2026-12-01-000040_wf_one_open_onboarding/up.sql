-- One open onboarding per person, as for offboardings: a second one created duplicate grant
-- tasks. Where a database already has several open for one person, the first stays and the
-- later ones are cancelled (with their open tasks), each with an audit entry saying why.
WITH later AS (
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY person_id ORDER BY id) AS n
        FROM workflows
        WHERE kind = 'onboarding' AND status = 'open'
    ) AS w
    WHERE n > 1
), tasks_cancelled AS (
    UPDATE tasks
       SET status = 'cancelled', completed_at = now(),
           note = 'duplicate of an earlier open onboarding'
     WHERE workflow_id IN (SELECT id FROM later) AND status = 'open'
), cancelled AS (
    UPDATE workflows
       SET status = 'cancelled', cancelled_at = now(),
           cancel_reason = 'duplicate of an earlier open onboarding'
     WHERE id IN (SELECT id FROM later)
    RETURNING id
)
INSERT INTO audit_log (actor_label, action, object_type, object_id, summary)
SELECT 'system', 'workflow.cancelled', 'workflow', id::text,
       'Cancelled: a duplicate of an earlier open onboarding of the same person (one open onboarding per person)'
FROM cancelled;

CREATE UNIQUE INDEX workflows_one_open_onboarding ON workflows (person_id)
    WHERE kind = 'onboarding' AND status = 'open';
