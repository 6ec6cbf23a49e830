//! Test fixtures for real services (shared test-support place): each fixture starts or
//! prepares its service for one test and cleans up on drop; a service that cannot start
//! fails the test loudly.

pub mod pg_cluster;
