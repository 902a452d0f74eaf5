//! The operator against a fake Kubernetes API server (tower-test) with real PostgreSQL and MariaDB servers
//! behind it: the Kubernetes call sequences of each scenario, what lands on the database server, and fault
//! recovery. The end-to-end suite against a real cluster runs only with `KUBECONFIG` and `DBPROV_E2E=1`.

mod support;

mod deletion;
mod e2e;
mod faults;
mod migrations;
mod oauth2_clients;
mod runs;
mod scenarios;
mod schedules;
