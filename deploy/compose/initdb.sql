-- Run once by the postgres image on first start (docker-entrypoint-initdb.d):
-- one database per service, each owned by the postgres role: exactly the databases of
-- contracts/services.py (checked by tests/structure/test_service_list.py).
CREATE DATABASE samverkan_school;
CREATE DATABASE samverkan_social;
CREATE DATABASE samverkan_employment;
CREATE DATABASE samverkan_audit;
CREATE DATABASE samverkan_reporting;
