//! KIP-507: the session key the leader distributes through the config topic and the HMAC
//! signatures of internal requests (`POST /connectors/{name}/tasks`) made with it, as Kafka's
//! `InternalRequestSignature` computes them: `base64(HMAC(session key, raw body bytes))` in
//! `X-Connect-Authorization`, the MAC algorithm in `X-Connect-Request-Signature-Algorithm`.
//!
//! It must not know HTTP: the REST layer hands in header values and body bytes.

use base64::Engine as _;
use openssl::hash::MessageDigest;
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use sluice_api::config::Config;

use crate::config::worker::{
    INTER_WORKER_KEY_GENERATION_ALGORITHM, INTER_WORKER_KEY_SIZE, INTER_WORKER_KEY_TTL_MS,
    INTER_WORKER_SIGNATURE_ALGORITHM, INTER_WORKER_VERIFICATION_ALGORITHMS,
};

/// `InternalRequestSignature.SIGNATURE_HEADER`.
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
/// `InternalRequestSignature.SIGNATURE_ALGORITHM_HEADER`.
pub const SIGNATURE_ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";

/// The MAC algorithms this worker supports, by their Java (JCA) names. Kafka accepts any MAC
/// of the JVM; these are the HMACs every JVM ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    HmacSha1,
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}

impl MacAlgorithm {
    pub const ALL: [MacAlgorithm; 5] = [
        MacAlgorithm::HmacSha1,
        MacAlgorithm::HmacSha224,
        MacAlgorithm::HmacSha256,
        MacAlgorithm::HmacSha384,
        MacAlgorithm::HmacSha512,
    ];

    /// The Java name (`HmacSHA256`).
    pub fn name(self) -> &'static str {
        match self {
            MacAlgorithm::HmacSha1 => "HmacSHA1",
            MacAlgorithm::HmacSha224 => "HmacSHA224",
            MacAlgorithm::HmacSha256 => "HmacSHA256",
            MacAlgorithm::HmacSha384 => "HmacSHA384",
            MacAlgorithm::HmacSha512 => "HmacSHA512",
        }
    }

    /// Java looks algorithm names up case-insensitively; so do we.
    pub fn from_name(name: &str) -> Option<MacAlgorithm> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The key size SunJCE's `KeyGenerator` uses when none is given, in bits.
    pub fn default_key_bits(self) -> u32 {
        match self {
            MacAlgorithm::HmacSha1 => 512,
            MacAlgorithm::HmacSha224 => 224,
            MacAlgorithm::HmacSha256 => 256,
            MacAlgorithm::HmacSha384 => 384,
            MacAlgorithm::HmacSha512 => 512,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            MacAlgorithm::HmacSha1 => MessageDigest::sha1(),
            MacAlgorithm::HmacSha224 => MessageDigest::sha224(),
            MacAlgorithm::HmacSha256 => MessageDigest::sha256(),
            MacAlgorithm::HmacSha384 => MessageDigest::sha384(),
            MacAlgorithm::HmacSha512 => MessageDigest::sha512(),
        }
    }

    /// The names, for messages and docs.
    pub fn names() -> String {
        Self::ALL.map(MacAlgorithm::name).join(", ")
    }
}

/// A failure of the crypto library (not of the input): reported, never a panic.
#[derive(Debug, thiserror::Error)]
#[error("The {algorithm} computation failed in OpenSSL: {source}")]
pub struct CryptoError {
    algorithm: &'static str,
    #[source]
    source: openssl::error::ErrorStack,
}

/// `HMAC(key, body)` with `algorithm`.
pub fn sign(algorithm: MacAlgorithm, key: &[u8], body: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let err = |source| CryptoError {
        algorithm: algorithm.name(),
        source,
    };
    let pkey = PKey::hmac(key).map_err(err)?;
    let mut signer = Signer::new(algorithm.digest(), &pkey).map_err(err)?;
    signer.update(body).map_err(err)?;
    signer.sign_to_vec().map_err(err)
}

/// The two header values of a signed request: (algorithm, base64 signature).
pub fn sign_request(
    algorithm: MacAlgorithm,
    key: &[u8],
    body: &[u8],
) -> Result<(String, String), CryptoError> {
    let mac = sign(algorithm, key, body)?;
    Ok((
        algorithm.name().to_string(),
        base64::engine::general_purpose::STANDARD.encode(mac),
    ))
}

/// The largest `inter.worker.key.size` accepted, in bits.
pub const MAX_KEY_BITS: i32 = 65_536;

/// A new random key of `bits` bits (rounded up to whole bytes, as Java's `KeyGenerator`).
pub fn generate_key(bits: u32) -> Result<Vec<u8>, CryptoError> {
    let mut key = vec![0u8; bits.div_ceil(8) as usize];
    openssl::rand::rand_bytes(&mut key).map_err(|source| CryptoError {
        algorithm: "key generation",
        source,
    })?;
    Ok(key)
}

/// Why an internal request is refused (`DistributedHerder.requestNotSignedProperly`); the
/// messages are Kafka's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// 400.
    #[error("Internal request missing required signature")]
    Missing,
    /// 400: not a MAC algorithm this worker knows (Java's `NoSuchAlgorithmException`).
    #[error("Algorithm {0} not available")]
    UnknownAlgorithm(String),
    /// 400: a known algorithm that `inter.worker.verification.algorithms` does not permit.
    #[error("This worker does not support the '{algorithm}' key signing algorithm used by other workers. This worker is currently configured to use: [{allowed}]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it.")]
    NotPermitted { algorithm: String, allowed: String },
    /// 503.
    #[error("This worker is still starting up and has not been able to read a session key from the config topic yet")]
    NoSessionKey,
    /// 403.
    #[error("Internal request contained invalid signature.")]
    Invalid,
}

impl SignatureError {
    /// The HTTP status Kafka answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            SignatureError::Missing
            | SignatureError::UnknownAlgorithm(_)
            | SignatureError::NotPermitted { .. } => 400,
            SignatureError::NoSessionKey => 503,
            SignatureError::Invalid => 403,
        }
    }
}

/// Checks a request's signature headers against the session key, in Kafka's order: missing,
/// unsupported algorithm, no key yet, wrong signature. `key` is `None` until a session key
/// was read from the config topic.
pub fn verify_request(
    algorithm: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    permitted: &[MacAlgorithm],
    key: Option<&[u8]>,
) -> Result<(), SignatureError> {
    let (Some(algorithm), Some(signature)) = (algorithm, signature) else {
        return Err(SignatureError::Missing);
    };
    let alg = MacAlgorithm::from_name(algorithm)
        .ok_or_else(|| SignatureError::UnknownAlgorithm(algorithm.to_string()))?;
    if !permitted.contains(&alg) {
        return Err(SignatureError::NotPermitted {
            algorithm: algorithm.to_string(),
            allowed: permitted
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let key = key.ok_or(SignatureError::NoSessionKey)?;
    // An undecodable signature cannot be valid.
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Invalid)?;
    let expected = sign(alg, key, body).map_err(|e| {
        tracing::error!(error = %e, "Could not compute the signature of an internal request.");
        SignatureError::Invalid
    })?;
    if given.len() == expected.len() && memcmp::eq(&given, &expected) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// The `inter.worker.*` settings of a distributed worker, checked together at start-up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterWorkerKeys {
    pub key_algorithm: MacAlgorithm,
    /// Key size in bits.
    pub key_bits: u32,
    pub key_ttl_ms: i64,
    pub signature_algorithm: MacAlgorithm,
    pub verification_algorithms: Vec<MacAlgorithm>,
}

impl Default for InterWorkerKeys {
    fn default() -> Self {
        InterWorkerKeys {
            key_algorithm: MacAlgorithm::HmacSha256,
            key_bits: MacAlgorithm::HmacSha256.default_key_bits(),
            key_ttl_ms: 3_600_000,
            signature_algorithm: MacAlgorithm::HmacSha256,
            verification_algorithms: vec![MacAlgorithm::HmacSha256],
        }
    }
}

/// The validator message for an algorithm this worker cannot use.
pub fn unsupported_algorithm_message() -> String {
    format!(
        "the algorithm is not supported by this worker; the supported algorithms are: {}",
        MacAlgorithm::names()
    )
}

impl InterWorkerKeys {
    /// From a parsed distributed worker config (whose validators already checked each key
    /// alone); the cross-key checks of `DistributedConfig.validateInterWorkerKeyConfigs`.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let alg = |key: &str| -> Result<MacAlgorithm, String> {
            let v = config.string(key).unwrap_or("HmacSHA256");
            MacAlgorithm::from_name(v).ok_or_else(|| {
                format!(
                    "Invalid value {v} for configuration {key}: {}",
                    unsupported_algorithm_message()
                )
            })
        };
        let key_algorithm = alg(INTER_WORKER_KEY_GENERATION_ALGORITHM)?;
        let signature_algorithm = alg(INTER_WORKER_SIGNATURE_ALGORITHM)?;
        let key_bits = match config.int(INTER_WORKER_KEY_SIZE) {
            None => key_algorithm.default_key_bits(),
            // SunJCE's HMAC key generators refuse keys under 40 bits.
            Some(bits) if bits < 40 => {
                return Err(format!(
                    "Unable to create key generator with algorithm {} and key size {bits}: Key length must be at least 40 bits (configuration {INTER_WORKER_KEY_SIZE})",
                    key_algorithm.name()
                ))
            }
            // Keys are made in memory: a size from the config must not size an absurd one.
            Some(bits) if bits > MAX_KEY_BITS => {
                return Err(format!(
                    "Invalid value {bits} for configuration {INTER_WORKER_KEY_SIZE}: Sluice generates keys of at most {MAX_KEY_BITS} bits"
                ))
            }
            Some(bits) => bits as u32,
        };
        let mut verification_algorithms = Vec::new();
        for v in config.list(INTER_WORKER_VERIFICATION_ALGORITHMS) {
            let a = MacAlgorithm::from_name(&v).ok_or_else(|| {
                format!(
                    "Invalid value {v} for configuration {INTER_WORKER_VERIFICATION_ALGORITHMS}: {}",
                    unsupported_algorithm_message()
                )
            })?;
            if !verification_algorithms.contains(&a) {
                verification_algorithms.push(a);
            }
        }
        if verification_algorithms.is_empty() {
            return Err(format!("Invalid value [] for configuration {INTER_WORKER_VERIFICATION_ALGORITHMS}: At least one signature verification algorithm must be provided"));
        }
        if !verification_algorithms.contains(&signature_algorithm) {
            return Err(format!(
                "Invalid value {} for configuration {INTER_WORKER_SIGNATURE_ALGORITHM}: Signature algorithm must be present in {INTER_WORKER_VERIFICATION_ALGORITHMS} list",
                signature_algorithm.name()
            ));
        }
        Ok(InterWorkerKeys {
            key_algorithm,
            key_bits,
            key_ttl_ms: config
                .int(INTER_WORKER_KEY_TTL_MS)
                .map_or(3_600_000, i64::from),
            signature_algorithm,
            verification_algorithms,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_test_case_2() {
        let mac = sign(
            MacAlgorithm::HmacSha256,
            b"Jefe",
            b"what do ya want for nothing?",
        )
        .unwrap();
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let (alg, b64) = sign_request(
            MacAlgorithm::HmacSha256,
            b"Jefe",
            b"what do ya want for nothing?",
        )
        .unwrap();
        assert_eq!(alg, "HmacSHA256");
        assert_eq!(b64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }

    #[test]
    fn verification_follows_kafkas_order_and_messages() {
        let key = b"0123456789abcdef0123456789abcdef";
        let body = br#"[{"task.class":"T"}]"#;
        let (alg, sig) = sign_request(MacAlgorithm::HmacSha256, key, body).unwrap();
        let permitted = [MacAlgorithm::HmacSha256];
        let check = |a: Option<&str>, s: Option<&str>, b: &[u8], k: Option<&[u8]>| {
            verify_request(a, s, b, &permitted, k)
        };
        assert_eq!(check(Some(&alg), Some(&sig), body, Some(key)), Ok(()));
        // Java names are case-insensitive.
        assert_eq!(
            check(Some("hmacsha256"), Some(&sig), body, Some(key)),
            Ok(())
        );

        let missing = check(None, Some(&sig), body, Some(key)).unwrap_err();
        assert_eq!(missing, SignatureError::Missing);
        assert_eq!(missing.http_status(), 400);
        assert_eq!(
            missing.to_string(),
            "Internal request missing required signature"
        );
        assert_eq!(
            check(Some(&alg), None, body, Some(key)),
            Err(SignatureError::Missing)
        );

        let unknown = check(Some("HmacMD4"), Some(&sig), body, Some(key)).unwrap_err();
        assert_eq!(unknown.http_status(), 400);
        assert_eq!(unknown.to_string(), "Algorithm HmacMD4 not available");
        let not_permitted = check(Some("HmacSHA512"), Some(&sig), body, Some(key)).unwrap_err();
        assert_eq!(not_permitted.http_status(), 400);
        assert_eq!(
            not_permitted.to_string(),
            "This worker does not support the 'HmacSHA512' key signing algorithm used by other workers. This worker is currently configured to use: [HmacSHA256]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it."
        );

        let no_key = check(Some(&alg), Some(&sig), body, None).unwrap_err();
        assert_eq!(no_key.http_status(), 503);
        assert_eq!(
            no_key.to_string(),
            "This worker is still starting up and has not been able to read a session key from the config topic yet"
        );

        for (sig, body, key) in [
            (sig.as_str(), &b"[]"[..], &key[..]),
            (sig.as_str(), &body[..], &b"another key"[..]),
            ("not base64!", &body[..], &key[..]),
            ("", &body[..], &key[..]),
        ] {
            let e = check(Some(&alg), Some(sig), body, Some(key)).unwrap_err();
            assert_eq!(e, SignatureError::Invalid, "{sig}");
            assert_eq!(e.http_status(), 403);
            assert_eq!(
                e.to_string(),
                "Internal request contained invalid signature."
            );
        }
    }

    #[test]
    fn generated_keys_have_the_configured_size_and_differ() {
        let a = generate_key(256).unwrap();
        let b = generate_key(256).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(generate_key(41).unwrap().len(), 6);
    }

    fn keys(pairs: &[(&str, &str)]) -> Result<InterWorkerKeys, String> {
        let mut raw = sluice_api::config::RawConfig::new();
        for k in [
            "group.id",
            "config.storage.topic",
            "offset.storage.topic",
            "status.storage.topic",
            "key.converter",
            "value.converter",
        ] {
            raw.insert(k.into(), "x".into());
        }
        for (k, v) in pairs {
            raw.insert(k.to_string(), v.to_string());
        }
        let config = crate::config::worker::distributed_def()
            .parse(&raw)
            .map_err(|e| {
                e.0.into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        InterWorkerKeys::from_config(&config)
    }

    #[test]
    fn worker_settings_have_kafkas_defaults_and_clear_errors() {
        assert_eq!(keys(&[]).unwrap(), InterWorkerKeys::default());
        let k = keys(&[
            ("inter.worker.key.generation.algorithm", "HmacSHA512"),
            ("inter.worker.key.size", "128"),
            ("inter.worker.signature.algorithm", "HmacSHA384"),
            (
                "inter.worker.verification.algorithms",
                "HmacSHA256,HmacSHA384",
            ),
            ("inter.worker.key.ttl.ms", "1000"),
        ])
        .unwrap();
        assert_eq!(k.key_algorithm, MacAlgorithm::HmacSha512);
        assert_eq!(k.key_bits, 128);
        assert_eq!(k.key_ttl_ms, 1000);
        assert_eq!(k.signature_algorithm, MacAlgorithm::HmacSha384);
        assert_eq!(
            keys(&[("inter.worker.key.generation.algorithm", "HmacSHA512")])
                .unwrap()
                .key_bits,
            512
        );

        let e = keys(&[("inter.worker.signature.algorithm", "HmacMD5")]).unwrap_err();
        assert!(
            e.contains("Invalid value HmacMD5 for configuration inter.worker.signature.algorithm")
                && e.contains("HmacSHA256"),
            "{e}"
        );
        let e = keys(&[("inter.worker.key.generation.algorithm", "AES")]).unwrap_err();
        assert!(
            e.contains("Invalid value AES for configuration inter.worker.key.generation.algorithm"),
            "{e}"
        );
        let e = keys(&[("inter.worker.verification.algorithms", "HmacSHA256,Foo")]).unwrap_err();
        assert!(
            e.contains("Invalid value") && e.contains("inter.worker.verification.algorithms"),
            "{e}"
        );
        let e = keys(&[("inter.worker.verification.algorithms", "HmacSHA512")]).unwrap_err();
        assert_eq!(e, "Invalid value HmacSHA256 for configuration inter.worker.signature.algorithm: Signature algorithm must be present in inter.worker.verification.algorithms list");
        let e = keys(&[("inter.worker.key.size", "32")]).unwrap_err();
        assert!(e.contains("Key length must be at least 40 bits"), "{e}");
        let e = keys(&[("inter.worker.key.ttl.ms", "-1")]).unwrap_err();
        assert!(e.contains("inter.worker.key.ttl.ms"), "{e}");
    }
}
