//! Java key stores and PEM stores, read once for everyone: the Kafka clients' `ssl.*`
//! mapping (`sluice_kafka::client_config`), the REST server, and connectors with Kafka-style
//! truststore/keystore keys (RabbitMQ's `rabbitmq.https.ssl.*`).
//!
//! JKS (and JCEKS without secret keys) is parsed here, keys decrypted with Sun's key
//! protector; PKCS12 and PEM go through OpenSSL. As in Java, JKS and PKCS12 files are
//! recognised by content whatever their declared type. This crate only reads stores: it
//! opens no connection and knows no configuration keys (callers name their own keys, see
//! [`StoreKey`]).

use base64::Engine as _;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::PKey;
use openssl::x509::X509;

/// Why a store could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    WrongPassword,
    Format(String),
}

/// What a store file is, by its content.
pub enum StoreFormat {
    Jks,
    Pkcs12,
    Unknown,
}

/// Java reads JKS and PKCS12 files whatever `*.type` says (`keystore.type.compat`), so do we.
pub fn sniff_store(bytes: &[u8]) -> StoreFormat {
    match bytes {
        [0xFE, 0xED, 0xFE, 0xED, ..] | [0xCE, 0xCE, 0xCE, 0xCE, ..] => StoreFormat::Jks,
        [0x30, ..] => StoreFormat::Pkcs12,
        _ => StoreFormat::Unknown,
    }
}

/// A private key entry of a JKS store: the key still encrypted, its certificate chain (DER).
pub struct JksKeyEntry {
    pub alias: String,
    pub encrypted_key: Vec<u8>,
    pub chain: Vec<Vec<u8>>,
}

/// The entries of a JKS store: trusted certificates (DER) and private keys.
pub struct JksStore {
    pub trusted: Vec<Vec<u8>>,
    pub keys: Vec<JksKeyEntry>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| StoreError::Format("file is truncated".to_string()))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, StoreError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Java `DataInput.readUTF` (modified UTF-8; lossy is fine for aliases and type names).
    fn utf(&mut self) -> Result<String, StoreError> {
        let n = self.u16()?;
        Ok(String::from_utf8_lossy(self.take(usize::from(n))?).into_owned())
    }
    fn blob(&mut self) -> Result<&'a [u8], StoreError> {
        let n = self.u32()?;
        let n =
            usize::try_from(n).map_err(|_| StoreError::Format("entry too large".to_string()))?;
        self.take(n)
    }
}

/// Java's password bytes for JKS: each UTF-16 code unit big-endian.
fn jks_password_bytes(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// Parses a JKS (or JCEKS) store: magic, version 1 or 2, entries (1 = private key, 2 = trusted
/// certificate), then a SHA-1 over password bytes + "Mighty Aphrodite" + everything before it.
/// Without a password the integrity check is skipped, as in Java.
pub fn parse_jks(bytes: &[u8], password: Option<&str>) -> Result<JksStore, StoreError> {
    let mut r = Reader {
        data: bytes,
        pos: 0,
    };
    let magic = r.u32()?;
    let jceks = magic == 0xCECE_CECE;
    let version = r.u32()?;
    if version != 1 && version != 2 {
        return Err(StoreError::Format(format!(
            "unsupported JKS version {version}"
        )));
    }
    let count = r.u32()?;
    let mut store = JksStore {
        trusted: Vec::new(),
        keys: Vec::new(),
    };
    let read_cert = |r: &mut Reader<'_>| -> Result<Vec<u8>, StoreError> {
        if version == 2 {
            let ty = r.utf()?;
            if ty != "X.509" {
                return Err(StoreError::Format(format!(
                    "unsupported certificate type {ty}"
                )));
            }
        }
        Ok(r.blob()?.to_vec())
    };
    for _ in 0..count {
        let tag = r.u32()?;
        let alias = r.utf()?;
        let _timestamp = r.take(8)?;
        match tag {
            1 => {
                let encrypted_key = r.blob()?.to_vec();
                let n = r.u32()?;
                let mut chain = Vec::new();
                for _ in 0..n {
                    chain.push(read_cert(&mut r)?);
                }
                store.keys.push(JksKeyEntry {
                    alias,
                    encrypted_key,
                    chain,
                });
            }
            2 => store.trusted.push(read_cert(&mut r)?),
            3 if jceks => {
                return Err(StoreError::Format(format!(
                    "entry {alias} is a secret key (JCEKS), which Sluice cannot read"
                )))
            }
            t => return Err(StoreError::Format(format!("unknown entry tag {t}"))),
        }
    }
    let body_len = r.pos;
    let digest = r.take(20)?;
    if let Some(password) = password {
        let mut h = openssl::sha::Sha1::new();
        h.update(&jks_password_bytes(password));
        h.update(b"Mighty Aphrodite");
        h.update(&bytes[..body_len]);
        if h.finish().as_slice() != digest {
            return Err(StoreError::WrongPassword);
        }
    }
    Ok(store)
}

/// Decrypts a JKS private key (Sun's `KeyProtector`, OID 1.3.6.1.4.1.42.2.17.1.1): the
/// EncryptedPrivateKeyInfo's data is salt(20) || key XOR keystream || SHA-1 check(20), where the
/// keystream blocks are SHA-1(password bytes || previous block), starting from the salt.
/// Returns the PKCS#8 DER.
pub fn jks_decrypt_key(encrypted_info: &[u8], password: &str) -> Result<Vec<u8>, StoreError> {
    const KEY_PROTECTOR_OID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01];
    let bad = |what: &str| StoreError::Format(format!("private key entry: {what}"));
    let (outer, _) = der_tlv(encrypted_info, 0x30).ok_or_else(|| bad("not DER"))?;
    let (alg, rest) = der_tlv(outer, 0x30).ok_or_else(|| bad("no algorithm"))?;
    let (oid, _) = der_tlv(alg, 0x06).ok_or_else(|| bad("no algorithm OID"))?;
    if oid != KEY_PROTECTOR_OID {
        return Err(bad("not protected with the JKS key protector"));
    }
    let (data, _) = der_tlv(rest, 0x04).ok_or_else(|| bad("no encrypted data"))?;
    if data.len() < 40 {
        return Err(bad("encrypted data too short"));
    }
    let (salt, rest) = data.split_at(20);
    let (encrypted, check) = rest.split_at(rest.len() - 20);
    let pw = jks_password_bytes(password);
    let mut plain = Vec::with_capacity(encrypted.len());
    let mut block = salt.to_vec();
    for chunk in encrypted.chunks(20) {
        let mut h = openssl::sha::Sha1::new();
        h.update(&pw);
        h.update(&block);
        block = h.finish().to_vec();
        plain.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    let mut h = openssl::sha::Sha1::new();
    h.update(&pw);
    h.update(&plain);
    if h.finish().as_slice() != check {
        return Err(StoreError::WrongPassword);
    }
    Ok(plain)
}

/// One DER TLV with the expected tag: (contents, rest).
fn der_tlv(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = data.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// Trusted certificates of a PKCS12 truststore: every certificate except the one that belongs to
/// a private key (Java only trusts certificate entries).
pub fn pkcs12_trusted_certs(
    bytes: &[u8],
    password: Option<&str>,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let p12 = openssl::pkcs12::Pkcs12::from_der(bytes)
        .map_err(|e| StoreError::Format(format!("not a PKCS12 file ({e})")))?;
    let parsed = p12.parse2(password.unwrap_or("")).map_err(|e| {
        let mac_failure = e
            .errors()
            .iter()
            .any(|e| e.reason().is_some_and(|r| r.contains("mac verify failure")));
        if mac_failure {
            StoreError::WrongPassword
        } else {
            StoreError::Format(format!(
                "{e}; if it uses legacy RC2/3DES encryption, re-create it with keytool -importkeystore -deststoretype PKCS12"
            ))
        }
    })?;
    let mut out = Vec::new();
    if parsed.pkey.is_none() {
        if let Some(cert) = &parsed.cert {
            out.push(
                cert.to_der()
                    .map_err(|e| StoreError::Format(e.to_string()))?,
            );
        }
    }
    if let Some(ca) = &parsed.ca {
        for cert in ca {
            out.push(
                cert.to_der()
                    .map_err(|e| StoreError::Format(e.to_string()))?,
            );
        }
    }
    Ok(out)
}

/// One PEM block of `der` under `label`.
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(line));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// The setting a [`Problem`] is about; the caller names its own key for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKey {
    Type,
    Location,
    /// The store password.
    Password,
    /// The private key's password (Kafka's `ssl.key.password`).
    KeyPassword,
}

/// A store that cannot be used: which setting to fix, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: StoreKey,
    pub message: String,
}

fn problem(key: StoreKey, message: String) -> Problem {
    Problem { key, message }
}

/// A store type as Kafka's `*.type` settings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Jks,
    Pkcs12,
    Pem,
}

impl StoreType {
    /// `JKS`, `PKCS12` or `PEM`, any case; an unknown type is a [`StoreKey::Type`] problem.
    pub fn parse(s: &str) -> Result<StoreType, Problem> {
        match s.trim().to_ascii_uppercase().as_str() {
            "JKS" => Ok(StoreType::Jks),
            "PKCS12" => Ok(StoreType::Pkcs12),
            "PEM" => Ok(StoreType::Pem),
            _ => Err(problem(
                StoreKey::Type,
                format!("store type {s} is not supported: JKS, PKCS12 or PEM"),
            )),
        }
    }
}

fn read_store(location: &str, what: &str) -> Result<Vec<u8>, Problem> {
    std::fs::read(location).map_err(|e| {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what} file {location} does not exist")
        } else {
            format!("cannot read {what} file {location}: {e}")
        };
        problem(StoreKey::Location, message)
    })
}

/// The trusted certificates (DER) of the truststore at `location`: the certificate entries
/// of a JKS or PKCS12 store (its integrity checked when `password` is given, as Java does),
/// or every certificate of a PEM file (which takes no password).
pub fn load_trusted(
    location: &str,
    password: Option<&str>,
    ty: StoreType,
) -> Result<Vec<Vec<u8>>, Problem> {
    let bytes = read_store(location, "truststore")?;
    let certs = if ty == StoreType::Pem {
        if password.is_some() {
            return Err(problem(
                StoreKey::Password,
                "SSL trust store password cannot be specified for PEM format".to_string(),
            ));
        }
        X509::stack_from_pem(&bytes)
            .and_then(|certs| certs.iter().map(|c| c.to_der()).collect())
            .map_err(|e| {
                problem(
                    StoreKey::Location,
                    format!("cannot read truststore {location} (PEM): {e}"),
                )
            })?
    } else {
        let read = match sniff_store(&bytes) {
            StoreFormat::Jks => parse_jks(&bytes, password).map(|s| s.trusted),
            StoreFormat::Pkcs12 => pkcs12_trusted_certs(&bytes, password),
            StoreFormat::Unknown => Err(StoreError::Format(
                "neither a JKS nor a PKCS12 file".to_string(),
            )),
        };
        read.map_err(|e| match e {
            StoreError::WrongPassword => problem(
                StoreKey::Password,
                format!("wrong truststore password for {location}"),
            ),
            StoreError::Format(why) => problem(
                StoreKey::Location,
                format!("cannot read truststore {location} ({ty:?}): {why}"),
            ),
        })?
    };
    if certs.is_empty() {
        return Err(problem(
            StoreKey::Location,
            format!("truststore {location} contains no trusted certificates"),
        ));
    }
    Ok(certs)
}

/// A private key and its certificate chain, as unencrypted PEM (PKCS#8 key), the form TLS
/// libraries take. Holds a secret: don't log it.
pub struct Identity {
    pub key_pem: String,
    pub chain_pem: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(..)")
    }
}

/// The one private key and its chain of the keystore at `location`. JKS: the key entry is
/// decrypted with `key_password`, else the store password (as Java does). PKCS12: with the
/// store password. PEM: key and chain in one file, the key decrypted with `key_password`;
/// a PEM store takes no store password.
pub fn load_identity(
    location: &str,
    store_password: Option<&str>,
    key_password: Option<&str>,
    ty: StoreType,
) -> Result<Identity, Problem> {
    let bytes = read_store(location, "keystore")?;
    if ty == StoreType::Pem {
        if store_password.is_some() {
            return Err(problem(StoreKey::Password, "SSL key store password cannot be specified with PEM format, only key password may be specified".to_string()));
        }
        let key = match key_password {
            Some(p) => PKey::private_key_from_pem_passphrase(&bytes, p.as_bytes()),
            None => PKey::private_key_from_pem(&bytes),
        }
        .map_err(|_| {
            problem(
                StoreKey::KeyPassword,
                format!("cannot read the private key of keystore {location} (PEM): wrong key password, or no PEM private key in the file"),
            )
        })?;
        let chain = X509::stack_from_pem(&bytes).unwrap_or_default();
        return pem_identity(location, &key, &chain);
    }
    match sniff_store(&bytes) {
        StoreFormat::Pkcs12 => {
            let parsed = Pkcs12::from_der(&bytes)
                .and_then(|p| p.parse2(store_password.unwrap_or("")))
                .map_err(|e| {
                    let mac = e
                        .errors()
                        .iter()
                        .any(|e| e.reason().is_some_and(|r| r.contains("mac verify failure")));
                    if mac {
                        problem(
                            StoreKey::Password,
                            format!("wrong keystore password for {location}"),
                        )
                    } else {
                        problem(
                            StoreKey::Location,
                            format!("cannot read keystore {location} (PKCS12): {e}"),
                        )
                    }
                })?;
            let key = parsed.pkey.ok_or_else(|| {
                problem(
                    StoreKey::Location,
                    format!("keystore {location} contains no private key"),
                )
            })?;
            let mut chain: Vec<X509> = parsed.cert.into_iter().collect();
            chain.extend(parsed.ca.into_iter().flatten());
            pem_identity(location, &key, &chain)
        }
        StoreFormat::Jks => {
            let store = parse_jks(&bytes, store_password).map_err(|e| match e {
                StoreError::WrongPassword => problem(
                    StoreKey::Password,
                    format!("wrong keystore password for {location}"),
                ),
                StoreError::Format(why) => problem(
                    StoreKey::Location,
                    format!("cannot read keystore {location} (JKS): {why}"),
                ),
            })?;
            let entry = match store.keys.as_slice() {
                [one] => one,
                [] => {
                    return Err(problem(
                        StoreKey::Location,
                        format!("keystore {location} contains no private key entry"),
                    ))
                }
                many => {
                    let aliases: Vec<&str> = many.iter().map(|k| k.alias.as_str()).collect();
                    return Err(problem(
                        StoreKey::Location,
                        format!(
                            "keystore {location} contains {} private key entries ({}); Sluice needs exactly one",
                            many.len(),
                            aliases.join(", ")
                        ),
                    ));
                }
            };
            let Some(password) = key_password.or(store_password) else {
                return Err(problem(
                    StoreKey::Password,
                    format!("keystore {location} is JKS: a key or keystore password is needed to decrypt its private key"),
                ));
            };
            let pkcs8 = jks_decrypt_key(&entry.encrypted_key, password).map_err(|e| match e {
                StoreError::WrongPassword => problem(
                    if key_password.is_some() {
                        StoreKey::KeyPassword
                    } else {
                        StoreKey::Password
                    },
                    format!(
                        "wrong key password for entry {} in keystore {location}",
                        entry.alias
                    ),
                ),
                StoreError::Format(why) => problem(
                    StoreKey::Location,
                    format!("cannot read keystore {location} (JKS): {why}"),
                ),
            })?;
            Ok(Identity {
                key_pem: der_to_pem("PRIVATE KEY", &pkcs8),
                chain_pem: entry
                    .chain
                    .iter()
                    .map(|der| der_to_pem("CERTIFICATE", der))
                    .collect(),
            })
        }
        StoreFormat::Unknown => Err(problem(
            StoreKey::Location,
            format!("cannot read keystore {location} ({ty:?}): neither a JKS nor a PKCS12 file"),
        )),
    }
}

fn pem_identity(
    location: &str,
    key: &PKey<openssl::pkey::Private>,
    chain: &[X509],
) -> Result<Identity, Problem> {
    if chain.is_empty() {
        return Err(problem(
            StoreKey::Location,
            format!("keystore {location} has no certificate for its private key"),
        ));
    }
    let bad = |e: openssl::error::ErrorStack| {
        problem(
            StoreKey::Location,
            format!("cannot use the keystore {location}: {e}"),
        )
    };
    let key_pem = key.private_key_to_pem_pkcs8().map_err(bad)?;
    let mut chain_pem = Vec::new();
    for c in chain {
        chain_pem.extend(c.to_pem().map_err(bad)?);
    }
    Ok(Identity {
        key_pem: String::from_utf8_lossy(&key_pem).into_owned(),
        chain_pem: String::from_utf8_lossy(&chain_pem).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &std::path::Path, program: &str, args: &[&str]) {
        let ok = std::process::Command::new(program)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    }

    /// A self-signed certificate and key, a JKS truststore, PKCS12 and JKS keystores.
    fn stores(dir: &std::path::Path) {
        run(
            dir,
            "openssl",
            &[
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "k.pem", "-out",
                "c.pem", "-days", "1", "-subj", "/CN=t",
            ],
        );
        run(
            dir,
            "keytool",
            &[
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                "c.pem",
                "-keystore",
                "t.jks",
                "-storepass",
                "trust-pw",
                "-storetype",
                "JKS",
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "pkcs12",
                "-export",
                "-in",
                "c.pem",
                "-inkey",
                "k.pem",
                "-name",
                "me",
                "-out",
                "k.p12",
                "-passout",
                "pass:p12-pw",
            ],
        );
        run(
            dir,
            "keytool",
            &[
                "-importkeystore",
                "-srckeystore",
                "k.p12",
                "-srcstoretype",
                "PKCS12",
                "-srcstorepass",
                "p12-pw",
                "-destkeystore",
                "k.jks",
                "-deststoretype",
                "JKS",
                "-deststorepass",
                "jks-pw",
                "-destkeypass",
                "jks-pw",
                "-noprompt",
            ],
        );
    }

    #[test]
    fn truststores_and_keystores_of_every_type() {
        let d = tempfile::tempdir().unwrap();
        stores(d.path());
        let p = |f: &str| d.path().join(f).display().to_string();
        assert_eq!(
            load_trusted(&p("t.jks"), Some("trust-pw"), StoreType::Jks)
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            load_trusted(&p("c.pem"), None, StoreType::Pem)
                .unwrap()
                .len(),
            1
        );
        let e = load_trusted(&p("t.jks"), Some("nope"), StoreType::Jks).unwrap_err();
        assert_eq!(e.key, StoreKey::Password, "{e:?}");
        let e = load_trusted(&p("missing.jks"), None, StoreType::Jks).unwrap_err();
        assert_eq!(e.key, StoreKey::Location);
        assert!(e.message.contains("does not exist"), "{e:?}");

        // A PEM keystore holds key and chain in one file.
        let both = format!(
            "{}{}",
            std::fs::read_to_string(p("k.pem")).unwrap(),
            std::fs::read_to_string(p("c.pem")).unwrap()
        );
        std::fs::write(p("both.pem"), both).unwrap();
        let e = load_identity(&p("k.pem"), None, None, StoreType::Pem).unwrap_err();
        assert!(e.message.contains("no certificate"), "{e:?}");
        let ids = [
            load_identity(&p("k.p12"), Some("p12-pw"), None, StoreType::Pkcs12).unwrap(),
            load_identity(&p("k.jks"), Some("jks-pw"), None, StoreType::Jks).unwrap(),
            load_identity(&p("both.pem"), None, None, StoreType::Pem).unwrap(),
        ];
        for id in &ids {
            assert!(
                id.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
                "{}",
                id.key_pem
            );
            assert!(id.chain_pem.contains("BEGIN CERTIFICATE"));
        }
        let e = load_identity(&p("k.p12"), Some("wrong"), None, StoreType::Pkcs12).unwrap_err();
        assert_eq!(e.key, StoreKey::Password, "{e:?}");
        let e =
            load_identity(&p("k.jks"), Some("jks-pw"), Some("wrong"), StoreType::Jks).unwrap_err();
        assert_eq!(e.key, StoreKey::KeyPassword, "{e:?}");
        assert_eq!(StoreType::parse("pkcs12"), Ok(StoreType::Pkcs12));
        assert_eq!(StoreType::parse("BCFKS").unwrap_err().key, StoreKey::Type);
    }
}
