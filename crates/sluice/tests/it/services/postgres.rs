//! PostgreSQL on 127.0.0.1:5432 (trust auth, user `postgres`): a database per test.

use super::{block_on, unique_db};

pub const HOST: &str = "127.0.0.1";
pub const PORT: u16 = 5432;

/// A database of its own on the local PostgreSQL, dropped on drop.
pub struct PgDb {
    pub name: String,
}

async fn connect(db: &str) -> tokio_postgres::Client {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(HOST).port(PORT).user("postgres").dbname(db);
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {HOST}:{PORT} is not reachable ({e}); start it as \
             /work/.library/env/machines/rust-svc.md says"
            )
        });
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

impl PgDb {
    pub fn create() -> PgDb {
        let name = unique_db("it_jdbc");
        block_on(async {
            let c = connect("postgres").await;
            c.batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("CREATE DATABASE");
        });
        PgDb { name }
    }

    /// The JDBC URL of this database.
    pub fn url(&self) -> String {
        format!(
            "jdbc:postgresql://{HOST}:{PORT}/{}?user=postgres",
            self.name
        )
    }

    /// Runs statements (no parameters).
    pub fn execute(&self, sql: &str) {
        block_on(async {
            let c = connect(&self.name).await;
            c.batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        })
    }

    /// Rows of a query as text (NULL as None), as the server renders them.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        block_on(async {
            let c = connect(&self.name).await;
            let msgs = c
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            msgs.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// `SELECT count(*)`.
    pub fn count(&self, table: &str) -> usize {
        self.rows(&format!("SELECT count(*) FROM {table}"))
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Like `count`, but 0 while the table does not exist.
    pub fn count_if_exists(&self, table: &str) -> usize {
        let exists = self.rows(&format!("SELECT to_regclass('{table}') IS NOT NULL"));
        if exists
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            == Some("t")
        {
            self.count(table)
        } else {
            0
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            let c = connect("postgres").await;
            let _ = c
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        });
    }
}
