DROP TABLE transactions;
DROP TABLE users;
