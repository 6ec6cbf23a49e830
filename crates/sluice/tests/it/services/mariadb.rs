//! MariaDB on 127.0.0.1:3306 (root, empty password): a database per test.

use mysql_async::prelude::Queryable;

use super::{block_on, unique_db};

pub const HOST: &str = "127.0.0.1";
pub const PORT: u16 = 3306;

/// A database of its own on the local MariaDB, dropped on drop.
pub struct MariaDb {
    pub name: String,
}

async fn connect(db: Option<&str>) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(PORT)
        .user(Some("root"))
        .db_name(db)
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.unwrap_or_else(|e| {
        panic!(
            "MariaDB at {HOST}:{PORT} is not reachable ({e}); start it as \
             /work/.library/env/machines/rust-svc.md says"
        )
    })
}

fn text(v: mysql_async::Value) -> Option<String> {
    match v {
        mysql_async::Value::NULL => None,
        mysql_async::Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

impl MariaDb {
    pub fn create() -> MariaDb {
        let name = unique_db("it_jdbc");
        block_on(async {
            let mut c = connect(None).await;
            c.query_drop(format!("CREATE DATABASE `{name}`"))
                .await
                .expect("CREATE DATABASE");
            let _ = c.disconnect().await;
        });
        MariaDb { name }
    }

    /// The JDBC URL of this database (the MariaDB driver's form).
    pub fn url(&self) -> String {
        format!("jdbc:mariadb://{HOST}:{PORT}/{}?user=root", self.name)
    }

    pub fn execute(&self, sql: &str) {
        block_on(async {
            let mut c = connect(Some(&self.name)).await;
            c.query_drop(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            let _ = c.disconnect().await;
        })
    }

    /// Rows of a query as text (NULL as None), in the text protocol's rendering.
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        block_on(async {
            let mut c = connect(Some(&self.name)).await;
            let rows: Vec<mysql_async::Row> = c
                .query(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            let _ = c.disconnect().await;
            rows.into_iter()
                .map(|r| r.unwrap().into_iter().map(text).collect())
                .collect()
        })
    }

    pub fn count(&self, table: &str) -> usize {
        self.rows(&format!("SELECT count(*) FROM {table}"))
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Like `count`, but 0 while the table does not exist.
    pub fn count_if_exists(&self, table: &str) -> usize {
        let n = self.rows(&format!(
            "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{table}'",
            self.name
        ));
        if n.first()
            .and_then(|r| r.first().cloned().flatten())
            .as_deref()
            == Some("1")
        {
            self.count(&format!("`{table}`"))
        } else {
            0
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        block_on(async move {
            let mut c = connect(None).await;
            let _ = c
                .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                .await;
            let _ = c.disconnect().await;
        });
    }
}
