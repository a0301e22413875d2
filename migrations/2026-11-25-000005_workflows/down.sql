DROP TABLE notifications;
DROP TABLE tasks;
DROP TABLE workflows;
DROP TABLE template_products;
DROP TABLE onboarding_templates;
