//! Security of the group client's own connections, configured like the worker's other
//! clients: TLS (OpenSSL, as the rest of the binary) and SASL PLAIN or
//! SCRAM-SHA-256/512 (RFC 5802, RFC 7677) over SaslHandshake v1 + SaslAuthenticate.
//!
//! [`Security::from_client_settings`] reads the worker's *mapped* client settings (the
//! librdkafka names `sluice-kafka` produces from the Java ones), so a JKS truststore, a JAAS
//! file named in `KAFKA_OPTS` or `sasl.jaas.config` mean the same here as for the data clients.

use std::collections::BTreeMap;

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::ssl::{SslConnector, SslMethod};
use openssl::x509::X509;

/// A SASL mechanism the group client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL credentials.
#[derive(Clone)]
pub struct Sasl {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"[hidden]")
            .finish()
    }
}

/// TLS for the group client's connections.
#[derive(Clone)]
pub struct Tls {
    pub connector: SslConnector,
    /// `ssl.endpoint.identification.algorithm=https` (the default): the broker's certificate
    /// must name the host (or IP) connected to.
    pub verify_hostname: bool,
}

/// How the group client secures its connections (default: PLAINTEXT).
#[derive(Clone, Default)]
pub struct Security {
    pub tls: Option<Tls>,
    pub sasl: Option<Sasl>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

/// Splits a PEM bundle into its certificates.
fn pem_certificates(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(b) = rest.find(begin) {
        let Some(e) = rest[b..].find(end) else { break };
        out.push(rest.as_bytes()[b..b + e + end.len()].to_vec());
        rest = &rest[b + e + end.len()..];
    }
    out
}

impl Security {
    /// From the worker's mapped client settings (librdkafka names). Errors name the key and
    /// what is wrong.
    pub fn from_client_settings(s: &BTreeMap<String, String>) -> Result<Security, String> {
        let get = |k: &str| s.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let protocol = get("security.protocol")
            .unwrap_or("plaintext")
            .to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            other => {
                return Err(format!(
                "security.protocol={other} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"
            ))
            }
        };
        let mut out = Security::default();
        if sasl {
            let mechanism = match get("sasl.mechanisms").unwrap_or("").to_ascii_uppercase().as_str() {
                "PLAIN" => Mechanism::Plain,
                "SCRAM-SHA-256" => Mechanism::ScramSha256,
                "SCRAM-SHA-512" => Mechanism::ScramSha512,
                other => {
                    return Err(format!(
                        "sasl.mechanism={other} is not supported by the group membership client; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"
                    ))
                }
            };
            let username = get("sasl.username")
                .ok_or("SASL is on but no username was configured (sasl.jaas.config)")?;
            let password = s.get("sasl.password").cloned().unwrap_or_default();
            out.sasl = Some(Sasl {
                mechanism,
                username: username.to_string(),
                password,
            });
        }
        if tls {
            let ssl = |e: openssl::error::ErrorStack| format!("TLS cannot be set up: {e}");
            let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(ssl)?;
            let ca = match (get("ssl.ca.pem"), get("ssl.ca.location")) {
                (Some(pem), _) => Some(pem.as_bytes().to_vec()),
                (None, Some(path)) => Some(
                    std::fs::read(path)
                        .map_err(|e| format!("ssl.truststore.location {path}: {e}"))?,
                ),
                (None, None) => None,
            };
            if let Some(ca) = ca {
                let certs = pem_certificates(&ca);
                if certs.is_empty() {
                    return Err("the truststore holds no PEM certificate".into());
                }
                for c in certs {
                    let cert = X509::from_pem(&c)
                        .map_err(|e| format!("a truststore certificate cannot be read: {e}"))?;
                    b.cert_store_mut().add_cert(cert).map_err(ssl)?;
                }
            }
            let read = |k: &str| -> Result<Option<Vec<u8>>, String> {
                match get(k) {
                    Some(p) => std::fs::read(p)
                        .map(Some)
                        .map_err(|e| format!("{k} {p}: {e}")),
                    None => Ok(None),
                }
            };
            let cert = get("ssl.certificate.pem")
                .map(|p| p.as_bytes().to_vec())
                .or(read("ssl.certificate.location")?);
            let key = get("ssl.key.pem")
                .map(|p| p.as_bytes().to_vec())
                .or(read("ssl.key.location")?);
            if let (Some(cert), Some(key)) = (cert, key) {
                let chain = X509::stack_from_pem(&cert)
                    .map_err(|e| format!("the client certificate cannot be read: {e}"))?;
                let mut chain = chain.into_iter();
                let leaf = chain
                    .next()
                    .ok_or("the client certificate file holds no certificate")?;
                let pkey = match get("ssl.key.password") {
                    Some(pw) => PKey::private_key_from_pem_passphrase(&key, pw.as_bytes()),
                    None => PKey::private_key_from_pem(&key),
                }
                .map_err(|e| {
                    format!("the client key cannot be read (check ssl.key.password): {e}")
                })?;
                b.set_certificate(&leaf).map_err(ssl)?;
                for c in chain {
                    b.add_extra_chain_cert(c).map_err(ssl)?;
                }
                b.set_private_key(&pkey).map_err(ssl)?;
            } else if let Some(p12) = read("ssl.keystore.location")? {
                let password = s.get("ssl.keystore.password").cloned().unwrap_or_default();
                let parsed = openssl::pkcs12::Pkcs12::from_der(&p12)
                    .and_then(|p| p.parse2(&password))
                    .map_err(|e| format!("ssl.keystore.location cannot be read: {e}"))?;
                if let Some(c) = parsed.cert {
                    b.set_certificate(&c).map_err(ssl)?;
                }
                if let Some(k) = parsed.pkey {
                    b.set_private_key(&k).map_err(ssl)?;
                }
                for c in parsed.ca.into_iter().flatten() {
                    b.add_extra_chain_cert(c).map_err(ssl)?;
                }
            }
            out.tls = Some(Tls {
                connector: b.build(),
                verify_hostname: get("ssl.endpoint.identification.algorithm") != Some("none"),
            });
        }
        Ok(out)
    }
}

fn scram_digest(m: Mechanism) -> MessageDigest {
    match m {
        Mechanism::ScramSha512 => MessageDigest::sha512(),
        _ => MessageDigest::sha256(),
    }
}

fn hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let pkey = PKey::hmac(key).map_err(|e| e.to_string())?;
    let mut signer = Signer::new(md, &pkey).map_err(|e| e.to_string())?;
    signer.update(data).map_err(|e| e.to_string())?;
    signer.sign_to_vec().map_err(|e| e.to_string())
}

/// `saslname` of RFC 5802: `=` and `,` escaped.
fn sasl_name(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// The client side of one SCRAM exchange.
pub struct Scram {
    mechanism: Mechanism,
    password: String,
    nonce: String,
    client_first_bare: String,
    server_signature: Option<Vec<u8>>,
}

impl Scram {
    /// Starts an exchange with a fresh random nonce.
    pub fn new(mechanism: Mechanism, username: &str, password: &str) -> Result<Scram, String> {
        let mut raw = [0u8; 24];
        openssl::rand::rand_bytes(&mut raw).map_err(|e| e.to_string())?;
        let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
        Ok(Self::with_nonce(mechanism, username, password, &nonce))
    }

    fn with_nonce(mechanism: Mechanism, username: &str, password: &str, nonce: &str) -> Scram {
        Scram {
            mechanism,
            password: password.to_string(),
            nonce: nonce.to_string(),
            client_first_bare: format!("n={},r={nonce}", sasl_name(username)),
            server_signature: None,
        }
    }

    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// The client-final message for the server-first message.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>, String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| "the server's SCRAM message is not UTF-8".to_string())?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            if let Some(v) = part.strip_prefix("r=") {
                nonce = Some(v);
            } else if let Some(v) = part.strip_prefix("s=") {
                salt = Some(
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .map_err(|_| "the server's SCRAM salt is not base64".to_string())?,
                );
            } else if let Some(v) = part.strip_prefix("i=") {
                iterations = v.parse::<usize>().ok();
            } else if let Some(v) = part.strip_prefix("e=") {
                return Err(format!("the server refused SCRAM authentication: {v}"));
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(format!(
                "malformed SCRAM server-first message: {server_first}"
            ));
        };
        if !nonce.starts_with(&self.nonce) || iterations == 0 {
            return Err("the server's SCRAM nonce or iteration count is invalid".into());
        }
        let md = scram_digest(self.mechanism);
        let mut salted = vec![0u8; md.size()];
        openssl::pkcs5::pbkdf2_hmac(self.password.as_bytes(), &salt, iterations, md, &mut salted)
            .map_err(|e| e.to_string())?;
        let client_key = hmac(md, &salted, b"Client Key")?;
        let stored_key = openssl::hash::hash(md, &client_key).map_err(|e| e.to_string())?;
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let signature = hmac(md, &stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(md, &salted, b"Server Key")?;
        self.server_signature = Some(hmac(md, &server_key, auth_message.as_bytes())?);
        Ok(format!(
            "{without_proof},p={}",
            base64::engine::general_purpose::STANDARD.encode(proof)
        )
        .into_bytes())
    }

    /// Checks the server-final message (the server proves it knows the password too).
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(server_final);
        if let Some(e) = text.strip_prefix("e=") {
            return Err(format!("the server refused SCRAM authentication: {e}"));
        }
        let v = text
            .strip_prefix("v=")
            .and_then(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .ok()
            })
            .ok_or_else(|| format!("malformed SCRAM server-final message: {text}"))?;
        if self.server_signature.as_deref() == Some(v.as_slice()) {
            Ok(())
        } else {
            Err("the server's SCRAM signature does not match: it does not know this user's credentials".into())
        }
    }
}

/// The PLAIN message: authorization id (empty), user, password.
pub fn plain_message(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3's SCRAM-SHA-256 exchange.
    #[test]
    fn scram_sha256_rfc7677_vector() {
        let mut s = Scram::with_nonce(
            Mechanism::ScramSha256,
            "user",
            "pencil",
            "rOprNGfwEbeRWgbNEkqO",
        );
        assert_eq!(s.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let client_final = s.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(client_final).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        s.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(s.verify_server_final(b"v=AAAA").is_err());
        assert!(s
            .verify_server_final(b"e=invalid-proof")
            .unwrap_err()
            .contains("invalid-proof"));
    }

    #[test]
    fn scram_rejects_a_foreign_nonce_and_escapes_names() {
        let mut s = Scram::with_nonce(Mechanism::ScramSha512, "a=b,c", "p", "abc");
        assert_eq!(s.client_first(), b"n,,n=a=3Db=2Cc,r=abc");
        assert!(s.client_final(b"r=xyz,s=AAAA,i=4096").is_err());
        assert!(s.client_final(b"r=abcdef").is_err());
    }

    #[test]
    fn settings_name_the_problem() {
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let plain = Security::from_client_settings(&m(&[])).unwrap();
        assert!(plain.tls.is_none() && plain.sasl.is_none());
        let s = Security::from_client_settings(&m(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "bob"),
            ("sasl.password", "pw"),
        ]))
        .unwrap();
        let sasl = s.sasl.unwrap();
        assert_eq!(
            (sasl.mechanism, sasl.username.as_str()),
            (Mechanism::ScramSha512, "bob")
        );
        assert!(
            !format!("{sasl:?}").contains("pw"),
            "the password is never printed"
        );
        let e = Security::from_client_settings(&m(&[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "GSSAPI"),
        ]))
        .err()
        .unwrap();
        assert!(e.contains("sasl.mechanism=GSSAPI"), "{e}");
        let e = Security::from_client_settings(&m(&[
            ("security.protocol", "ssl"),
            ("ssl.ca.location", "/no/such/ca.pem"),
        ]))
        .err()
        .unwrap();
        assert!(e.contains("/no/such/ca.pem"), "{e}");
        assert_eq!(plain_message("u", "p"), b"\0u\0p");
    }
}
