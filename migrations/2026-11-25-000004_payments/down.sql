DROP TABLE payments;
DROP TABLE attachments;
DROP TABLE billing_records;
