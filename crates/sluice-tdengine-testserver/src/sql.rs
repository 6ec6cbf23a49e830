//! The SQL subset the connectors and tests send through `/rest/sql`: create/drop/use database,
//! create stable/table, insert (with `USING … TAGS`), describe, `information_schema.ins_*`,
//! and selects with `where`, `order by`, `limit`, `count(*)` and `first(_c0)`; create/drop
//! TMQ topics (`as select * from`, `as stable`, `as database`).

use crate::store::{
    Column, Database, Kind, Stable, Store, Table, TdError, TopicDef, TopicSource, Val,
    SYNTAX_ERROR, TABLE_NOT_EXIST,
};
use crate::time;

/// What a statement returns.
#[derive(Debug)]
pub enum Output {
    Affected(usize),
    Rows {
        /// (name, type name, length).
        meta: Vec<(String, String, usize)>,
        data: Vec<Vec<serde_json::Value>>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident { text: String, quoted: bool },
    Str(String),
    Num(String),
    Sym(char),
}

fn syntax(near: &str) -> TdError {
    TdError::new(SYNTAX_ERROR, format!("syntax error near \"{near}\""))
}

fn tokenize(sql: &str) -> Result<Vec<Tok>, TdError> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(syntax(&s)),
                    Some('\\') if c != '`' => {
                        if let Some(n) = chars.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some(x) if *x == c => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(if c == '`' {
                Tok::Ident {
                    text: s,
                    quoted: true,
                }
            } else {
                Tok::Str(s)
            });
        } else if c.is_ascii_digit()
            || (c == '-'
                && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())
                && !matches!(out.last(), Some(Tok::Num(_)) | Some(Tok::Ident { .. })))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident {
                text: chars[start..i].iter().collect(),
                quoted: false,
            });
        } else {
            out.push(Tok::Sym(c));
            i += 1;
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<Tok>,
    pos: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn near(&self) -> String {
        match self.peek() {
            Some(Tok::Ident { text, .. }) | Some(Tok::Str(text)) | Some(Tok::Num(text)) => {
                text.clone()
            }
            Some(Tok::Sym(c)) => c.to_string(),
            None => String::new(),
        }
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident { text, quoted: false }) if text.eq_ignore_ascii_case(kw))
    }
    fn kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), TdError> {
        if self.kw(kw) {
            Ok(())
        } else {
            Err(syntax(&self.near()))
        }
    }
    fn sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, c: char) -> Result<(), TdError> {
        if self.sym(c) {
            Ok(())
        } else {
            Err(syntax(&self.near()))
        }
    }
    /// An identifier: unquoted ones are folded to lower case.
    fn ident(&mut self) -> Result<String, TdError> {
        match self.peek().cloned() {
            Some(Tok::Ident { text, quoted }) => {
                self.pos += 1;
                Ok(if quoted { text } else { text.to_lowercase() })
            }
            _ => Err(syntax(&self.near())),
        }
    }
    /// `[db.]name`.
    fn name(&mut self) -> Result<(Option<String>, String), TdError> {
        let first = self.ident()?;
        if self.sym('.') {
            Ok((Some(first), self.ident()?))
        } else {
            Ok((None, first))
        }
    }
    fn literal(&mut self) -> Result<Tok, TdError> {
        match self.peek().cloned() {
            Some(t @ (Tok::Str(_) | Tok::Num(_))) => {
                self.pos += 1;
                Ok(t)
            }
            Some(t @ Tok::Ident { quoted: false, .. }) => {
                self.pos += 1;
                Ok(t)
            }
            _ => Err(syntax(&self.near())),
        }
    }
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
}

fn resolve_db(db: Option<String>, default: Option<&str>) -> Result<String, TdError> {
    db.or_else(|| default.map(str::to_string))
        .ok_or_else(|| TdError::new(0x2616, "Database not specified or available"))
}

/// Runs one statement.
pub fn execute(store: &mut Store, default_db: Option<&str>, sql: &str) -> Result<Output, TdError> {
    let mut p = P {
        toks: tokenize(sql)?,
        pos: 0,
    };
    if p.kw("create") {
        if p.kw("topic") {
            return create_topic(store, default_db, &mut p);
        }
        if p.kw("database") {
            let exists_ok = p.kw("if") && p.kw("not") && p.kw("exists");
            let name = p.ident()?;
            let mut precision = "ms".to_string();
            while !p.done() {
                if p.kw("precision") {
                    match p.literal()? {
                        Tok::Str(s) if ["ms", "us", "ns"].contains(&s.to_lowercase().as_str()) => {
                            precision = s.to_lowercase()
                        }
                        _ => return Err(TdError::new(0x2604, "Invalid option precision")),
                    }
                } else if matches!(p.peek(), Some(Tok::Sym(_))) {
                    return Err(syntax(&p.near()));
                } else {
                    p.pos += 1;
                }
            }
            match store.databases.entry(name) {
                std::collections::btree_map::Entry::Occupied(_) if !exists_ok => {
                    return Err(TdError::new(0x0381, "Database already exists"));
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(Database::new(&precision));
                }
            }
            return Ok(Output::Affected(0));
        }
        let stable = p.kw("stable");
        if !stable {
            p.expect_kw("table")?;
        }
        let if_not_exists = p.kw("if") && p.kw("not") && p.kw("exists");
        let (db, name) = p.name()?;
        let db = resolve_db(db, default_db)?;
        if p.kw("using") {
            let (_, st) = p.name()?;
            p.expect_kw("tags")?;
            let tags = value_list(&mut p)?;
            let d = store.db_mut(&db)?;
            create_child(d, &name, &st, &tags)?;
            return Ok(Output::Affected(0));
        }
        let columns = column_defs(&mut p)?;
        let tags = if p.kw("tags") {
            Some(column_defs(&mut p)?)
        } else {
            None
        };
        let d = store.db_mut(&db)?;
        if d.stables.contains_key(&name) || d.tables.contains_key(&name) {
            if if_not_exists {
                return Ok(Output::Affected(0));
            }
            return Err(TdError::new(0x2603, "Table already exists"));
        }
        if columns.first().map(|c| c.kind) != Some(Kind::Timestamp) {
            return Err(TdError::new(0x2614, "First column must be timestamp"));
        }
        match tags {
            Some(tags) => {
                d.stables.insert(name, Stable { columns, tags });
            }
            None if stable => return Err(syntax("tags")),
            None => {
                d.tables.insert(
                    name,
                    Table {
                        columns,
                        ..Table::default()
                    },
                );
            }
        }
        return Ok(Output::Affected(0));
    }
    if p.kw("drop") {
        if p.kw("topic") {
            let if_exists = p.kw("if") && p.kw("exists");
            let name = p.ident()?;
            if store.topics.remove(&name).is_none() && !if_exists {
                return Err(TdError::new(TOPIC_NOT_EXIST, "Topic not exist"));
            }
            store.committed.retain(|(_, t), _| *t != name);
            return Ok(Output::Affected(0));
        }
        if p.kw("database") {
            let if_exists = p.kw("if") && p.kw("exists");
            let name = p.ident()?;
            if store.databases.remove(&name).is_none() && !if_exists {
                return Err(TdError::new(0x0388, "Database not exist"));
            }
            return Ok(Output::Affected(0));
        }
        if !p.kw("stable") {
            p.expect_kw("table")?;
        }
        let if_exists = p.kw("if") && p.kw("exists");
        let (db, name) = p.name()?;
        let d = store.db_mut(&resolve_db(db, default_db)?)?;
        let found = d.stables.remove(&name).is_some() | d.tables.remove(&name).is_some();
        d.tables
            .retain(|_, t| t.stable.as_deref() != Some(name.as_str()));
        if !found && !if_exists {
            return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
        }
        return Ok(Output::Affected(0));
    }
    if p.kw("use") {
        let name = p.ident()?;
        store.db(&name)?;
        return Ok(Output::Affected(0));
    }
    if p.kw("insert") {
        p.expect_kw("into")?;
        return insert(store, default_db, &mut p);
    }
    if p.kw("describe") || p.kw("desc") {
        let (db, name) = p.name()?;
        return describe(store.db(&resolve_db(db, default_db)?)?, &name);
    }
    if p.kw("select") {
        return select(store, default_db, &mut p);
    }
    Err(syntax(&p.near()))
}

/// TDengine's `TSDB_CODE_MND_TOPIC_NOT_EXIST`.
pub const TOPIC_NOT_EXIST: i32 = 0x03E0;

/// `create topic [if not exists] <name> as select * from <table> | as stable <st> | as
/// database <db>`.
fn create_topic(store: &mut Store, default_db: Option<&str>, p: &mut P) -> Result<Output, TdError> {
    let if_not_exists = p.kw("if") && p.kw("not") && p.kw("exists");
    let name = p.ident()?;
    p.expect_kw("as")?;
    let (db, source) = if p.kw("select") {
        if !matches!(p.peek(), Some(Tok::Sym('*'))) {
            return Err(syntax(&p.near()));
        }
        p.pos += 1;
        p.expect_kw("from")?;
        let (db, table) = p.name()?;
        let db = resolve_db(db, default_db)?;
        let d = store.db(&db)?;
        if !d.stables.contains_key(&table)
            && d.tables.get(&table).is_none_or(|t| t.stable.is_some())
        {
            return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
        }
        (db, TopicSource::Select(table))
    } else if p.kw("stable") {
        let (db, st) = p.name()?;
        let db = resolve_db(db, default_db)?;
        if !store.db(&db)?.stables.contains_key(&st) {
            return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
        }
        (db, TopicSource::Stable(st))
    } else if p.kw("database") {
        let db = p.ident()?;
        store.db(&db)?;
        (db, TopicSource::Database)
    } else {
        return Err(syntax(&p.near()));
    };
    if store.topics.contains_key(&name) {
        if if_not_exists {
            return Ok(Output::Affected(0));
        }
        return Err(TdError::new(0x03E1, "Topic already exists"));
    }
    store.topics.insert(name, TopicDef { db, source });
    Ok(Output::Affected(0))
}

fn column_defs(p: &mut P) -> Result<Vec<Column>, TdError> {
    p.expect_sym('(')?;
    let mut out = Vec::new();
    loop {
        let name = p.ident()?;
        let ty = p.ident()?;
        let mut kind = Kind::parse(&ty).ok_or_else(|| syntax(&ty))?;
        if kind == Kind::Int && p.kw("unsigned") {
            kind = Kind::UInt;
        }
        let mut len = kind.fixed_len();
        if p.sym('(') {
            if let Tok::Num(n) = p.literal()? {
                len = n.parse().map_err(|_| syntax(&n))?;
            }
            p.expect_sym(')')?;
        }
        out.push(Column::new(name, kind, len));
        if !p.sym(',') {
            break;
        }
    }
    p.expect_sym(')')?;
    Ok(out)
}

fn value_list(p: &mut P) -> Result<Vec<Tok>, TdError> {
    p.expect_sym('(')?;
    let mut out = Vec::new();
    loop {
        out.push(p.literal()?);
        if !p.sym(',') {
            break;
        }
    }
    p.expect_sym(')')?;
    Ok(out)
}

/// Converts a literal to a value of `kind` (timestamps in `precision`).
fn to_val(t: &Tok, kind: Kind, precision: &str) -> Result<Val, TdError> {
    let bad = |s: &str| TdError::new(0x2600, format!("Invalid value: {s}"));
    Ok(match t {
        Tok::Ident { text, .. } if text.eq_ignore_ascii_case("null") => Val::Null,
        Tok::Ident { text, .. } if text.eq_ignore_ascii_case("now") => {
            Val::Ts(time::now(precision))
        }
        Tok::Ident { text, .. } if kind == Kind::Bool => match text.to_lowercase().as_str() {
            "true" => Val::Bool(true),
            "false" => Val::Bool(false),
            _ => return Err(bad(text)),
        },
        Tok::Num(n) | Tok::Str(n) => match kind {
            Kind::Timestamp => match n.parse::<i64>() {
                Ok(i) => Val::Ts(i),
                Err(_) => Val::Ts(time::parse_datetime(n, precision).ok_or_else(|| bad(n))?),
            },
            Kind::Bool => Val::Bool(n != "0" && !n.eq_ignore_ascii_case("false")),
            Kind::TinyInt | Kind::SmallInt | Kind::Int | Kind::BigInt => {
                Val::Int(n.parse().map_err(|_| bad(n))?)
            }
            Kind::UTinyInt | Kind::USmallInt | Kind::UInt | Kind::UBigInt => {
                Val::UInt(n.parse().map_err(|_| bad(n))?)
            }
            Kind::Float => Val::F32(n.parse().map_err(|_| bad(n))?),
            Kind::Double => Val::Float(n.parse().map_err(|_| bad(n))?),
            _ => Val::Str(n.clone()),
        },
        other => return Err(bad(&format!("{other:?}"))),
    })
}

fn create_child(d: &mut Database, name: &str, st: &str, tags: &[Tok]) -> Result<(), TdError> {
    let stable = d
        .stables
        .get(st)
        .ok_or_else(|| TdError::new(TABLE_NOT_EXIST, "Table does not exist"))?;
    if d.tables.contains_key(name) {
        return Ok(());
    }
    if tags.len() != stable.tags.len() {
        return Err(TdError::new(0x2634, "Tags number not matched"));
    }
    let vals = tags
        .iter()
        .zip(&stable.tags)
        .map(|(t, c)| to_val(t, c.kind, &d.precision))
        .collect::<Result<Vec<_>, _>>()?;
    d.tables.insert(
        name.to_string(),
        Table {
            stable: Some(st.to_string()),
            tags: vals,
            ..Table::default()
        },
    );
    Ok(())
}

fn insert(store: &mut Store, default_db: Option<&str>, p: &mut P) -> Result<Output, TdError> {
    let mut rows = 0;
    while !p.done() {
        let (db, name) = p.name()?;
        let d = store.db_mut(&resolve_db(db, default_db)?)?;
        if p.kw("using") {
            let (_, st) = p.name()?;
            p.expect_kw("tags")?;
            let tags = value_list(p)?;
            create_child(d, &name, &st, &tags)?;
        }
        let cols: Vec<Column> = d
            .columns_of(&name)
            .ok_or_else(|| TdError::new(TABLE_NOT_EXIST, "Table does not exist"))?
            .to_vec();
        let mut positions: Vec<usize> = (0..cols.len()).collect();
        if p.peek() == Some(&Tok::Sym('(')) {
            p.expect_sym('(')?;
            positions.clear();
            loop {
                let c = p.ident()?;
                positions.push(
                    cols.iter()
                        .position(|x| x.name.eq_ignore_ascii_case(&c))
                        .ok_or_else(|| TdError::new(0x2602, format!("Invalid column name: {c}")))?,
                );
                if !p.sym(',') {
                    break;
                }
            }
            p.expect_sym(')')?;
        }
        p.expect_kw("values")?;
        while p.peek() == Some(&Tok::Sym('(')) {
            let vals = value_list(p)?;
            if vals.len() != positions.len() {
                return Err(TdError::new(0x2635, "Illegal number of columns"));
            }
            let mut ts = None;
            let mut values = Vec::new();
            for (t, &i) in vals.iter().zip(&positions) {
                let v = to_val(t, cols[i].kind, &d.precision)?;
                if i == 0 {
                    if let Val::Ts(x) = v {
                        ts = Some(x);
                    }
                } else {
                    values.push((i, v));
                }
            }
            let ts =
                ts.ok_or_else(|| TdError::new(0x2600, "Primary timestamp column can not be null"))?;
            if ts < d.oldest_allowed() {
                return Err(TdError::new(0x060B, "Timestamp data out of range"));
            }
            d.upsert(&name, ts, values);
            rows += 1;
        }
    }
    Ok(Output::Affected(rows))
}

fn meta(name: &str, c: &Column) -> (String, String, usize) {
    (name.to_string(), c.kind.name().to_string(), c.len)
}

fn describe(d: &Database, name: &str) -> Result<Output, TdError> {
    let (columns, tags): (Vec<Column>, Vec<Column>) = if let Some(st) = d.stables.get(name) {
        (st.columns.clone(), st.tags.clone())
    } else if let Some(t) = d.tables.get(name) {
        match &t.stable {
            Some(st) => d
                .stables
                .get(st)
                .map(|s| (s.columns.clone(), s.tags.clone()))
                .unwrap_or_default(),
            None => (t.columns.clone(), Vec::new()),
        }
    } else {
        return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
    };
    let mut data = Vec::new();
    for (c, note) in columns
        .iter()
        .map(|c| (c, ""))
        .chain(tags.iter().map(|c| (c, "TAG")))
    {
        data.push(vec![
            c.name.clone().into(),
            c.kind.name().into(),
            (c.len as u64).into(),
            note.into(),
            "".into(),
            "".into(),
            "".into(),
        ]);
    }
    let s = |n: &str, l: usize| (n.to_string(), "VARCHAR".to_string(), l);
    Ok(Output::Rows {
        meta: vec![
            s("field", 64),
            s("type", 32),
            ("length".into(), "INT".into(), 4),
            s("note", 8),
            s("encode", 8),
            s("compress", 8),
            s("level", 8),
        ],
        data,
    })
}

/// A relation being selected from: column headers and rows.
struct Rel {
    cols: Vec<Column>,
    rows: Vec<Vec<Val>>,
    precision: String,
    /// Trailing pseudo columns that `*` does not select.
    hidden: usize,
}

impl Rel {
    fn index(&self, name: &str) -> Option<usize> {
        self.cols.iter().position(|c| c.name == name).or_else(|| {
            self.cols
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(name))
        })
    }
}

fn info_schema(store: &Store, table: &str) -> Result<Rel, TdError> {
    let v = |n: &str, l| Column::new(n, Kind::Varchar, l);
    let mut rows = Vec::new();
    let cols = match table {
        "ins_databases" => {
            for (name, d) in &store.databases {
                rows.push(vec![Val::Str(name.clone()), Val::Str(d.precision.clone())]);
            }
            vec![v("name", 64), v("precision", 2)]
        }
        "ins_stables" => {
            for (dn, d) in &store.databases {
                for name in d.stables.keys() {
                    rows.push(vec![Val::Str(name.clone()), Val::Str(dn.clone())]);
                }
            }
            vec![v("stable_name", 192), v("db_name", 64)]
        }
        "ins_tables" => {
            for (dn, d) in &store.databases {
                for (name, t) in &d.tables {
                    rows.push(vec![
                        Val::Str(name.clone()),
                        Val::Str(dn.clone()),
                        t.stable.clone().map_or(Val::Null, Val::Str),
                    ]);
                }
            }
            vec![
                v("table_name", 192),
                v("db_name", 64),
                v("stable_name", 192),
            ]
        }
        other => {
            return Err(TdError::new(
                TABLE_NOT_EXIST,
                format!("Table does not exist: {other}"),
            ))
        }
    };
    Ok(Rel {
        cols,
        rows,
        precision: "ms".into(),
        hidden: 0,
    })
}

fn table_rel(store: &Store, db: &str, table: &str) -> Result<Rel, TdError> {
    let d = store.db(db)?;
    let (columns, tags) = if let Some(st) = d.stables.get(table) {
        (st.columns.clone(), st.tags.clone())
    } else if let Some(t) = d.tables.get(table) {
        match &t.stable {
            Some(st) => d
                .stables
                .get(st)
                .map(|s| (s.columns.clone(), s.tags.clone()))
                .unwrap_or_default(),
            None => (t.columns.clone(), Vec::new()),
        }
    } else {
        return Err(TdError::new(TABLE_NOT_EXIST, "Table does not exist"));
    };
    let mut cols = columns.clone();
    cols.extend(tags.iter().cloned());
    cols.push(Column::new("tbname", Kind::Varchar, 192));
    cols.push(Column::new("_c0", Kind::Timestamp, 8));
    cols.push(Column::new("_rowts", Kind::Timestamp, 8));
    let ncols = columns.len();
    let mut rows = Vec::new();
    for (ts, child, row, tag_vals) in store.rows_of(db, table)? {
        let mut r = Vec::with_capacity(cols.len());
        r.push(Val::Ts(ts));
        for i in 1..ncols {
            r.push(row.get(i).cloned().unwrap_or(Val::Null));
        }
        for i in 0..tags.len() {
            r.push(tag_vals.get(i).cloned().unwrap_or(Val::Null));
        }
        r.push(Val::Str(child));
        r.push(Val::Ts(ts));
        r.push(Val::Ts(ts));
        rows.push(r);
    }
    Ok(Rel {
        cols,
        rows,
        precision: d.precision.clone(),
        hidden: 3,
    })
}

enum Item {
    Star,
    Count,
    First(String),
    Col(String),
}

fn select(store: &Store, default_db: Option<&str>, p: &mut P) -> Result<Output, TdError> {
    let mut items = Vec::new();
    loop {
        if p.sym('*') {
            items.push(Item::Star);
        } else {
            let name = p.ident()?;
            if p.sym('(') {
                let item = match name.as_str() {
                    "count" => {
                        if !p.sym('*') {
                            p.ident()?;
                        }
                        Item::Count
                    }
                    "first" => Item::First(p.ident()?),
                    other => return Err(syntax(other)),
                };
                p.expect_sym(')')?;
                items.push(item);
            } else {
                items.push(Item::Col(name));
            }
        }
        if !p.sym(',') {
            break;
        }
    }
    p.expect_kw("from")?;
    let (db, table) = p.name()?;
    let rel = if db.as_deref() == Some("information_schema") {
        info_schema(store, &table)?
    } else {
        table_rel(store, &resolve_db(db, default_db)?, &table)?
    };
    let mut rows = rel.rows.clone();
    if p.kw("where") {
        loop {
            let col = p.ident()?;
            let i = rel
                .index(&col)
                .ok_or_else(|| TdError::new(0x2602, format!("Invalid column name: {col}")))?;
            let kind = rel.cols[i].kind;
            if p.kw("is") {
                let not = p.kw("not");
                p.expect_kw("null")?;
                rows.retain(|r| (r[i] == Val::Null) != not);
            } else {
                let mut op = String::new();
                while let Some(Tok::Sym(c)) = p.peek() {
                    if matches!(c, '=' | '<' | '>' | '!') {
                        op.push(*c);
                        p.pos += 1;
                    } else {
                        break;
                    }
                }
                let lit = p.literal()?;
                let v = to_val(&lit, kind, &rel.precision)?;
                rows.retain(|r| {
                    let o = r[i].cmp_order(&v);
                    match op.as_str() {
                        "=" => o.is_eq(),
                        "!=" | "<>" => !o.is_eq(),
                        ">" => o.is_gt(),
                        ">=" => o.is_ge(),
                        "<" => o.is_lt(),
                        "<=" => o.is_le(),
                        _ => false,
                    }
                });
            }
            if !p.kw("and") {
                break;
            }
        }
    }
    if p.kw("order") {
        p.expect_kw("by")?;
        let mut keys = Vec::new();
        loop {
            let col = p.ident()?;
            let i = rel
                .index(&col)
                .ok_or_else(|| TdError::new(0x2602, format!("Invalid column name: {col}")))?;
            let desc = p.kw("desc");
            if !desc {
                p.kw("asc");
            }
            keys.push((i, desc));
            if !p.sym(',') {
                break;
            }
        }
        rows.sort_by(|a, b| {
            for (i, desc) in &keys {
                let o = a[*i].cmp_order(&b[*i]);
                if !o.is_eq() {
                    return if *desc { o.reverse() } else { o };
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if p.kw("limit") {
        if let Tok::Num(n) = p.literal()? {
            rows.truncate(n.parse().map_err(|_| syntax(&n))?);
        }
    }
    if !p.done() {
        return Err(syntax(&p.near()));
    }
    // Aggregates.
    if let Some(Item::Count) = items.first() {
        return Ok(Output::Rows {
            meta: vec![("count(*)".into(), "BIGINT".into(), 8)],
            data: vec![vec![(rows.len() as u64).into()]],
        });
    }
    if let Some(Item::First(c)) = items.first() {
        let i = rel.index(c).ok_or_else(|| syntax(c))?;
        let first = rows
            .iter()
            .map(|r| r[i].clone())
            .filter(|v| *v != Val::Null)
            .min_by(|a, b| a.cmp_order(b));
        return Ok(Output::Rows {
            meta: vec![(format!("first({c})"), rel.cols[i].kind.name().into(), 8)],
            data: first
                .map(|v| vec![vec![v.to_json(&rel.precision)]])
                .unwrap_or_default(),
        });
    }
    let mut proj = Vec::new();
    for item in &items {
        match item {
            Item::Star => {
                // `*` is the columns and, on a super table, the tags (not the pseudo columns).
                proj.extend(0..rel.cols.len() - rel.hidden);
            }
            Item::Col(c) => proj.push(
                rel.index(c)
                    .ok_or_else(|| TdError::new(0x2602, format!("Invalid column name: {c}")))?,
            ),
            _ => return Err(syntax("aggregate")),
        }
    }
    let meta_cols = proj
        .iter()
        .map(|&i| meta(&rel.cols[i].name, &rel.cols[i]))
        .collect();
    let data = rows
        .iter()
        .map(|r| proj.iter().map(|&i| r[i].to_json(&rel.precision)).collect())
        .collect();
    Ok(Output::Rows {
        meta: meta_cols,
        data,
    })
}
