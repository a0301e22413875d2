DROP TABLE handovers;
ALTER TABLE onboarding_templates DROP COLUMN maintainer_id;
