//! Bolt's pkcs7 secrets: an RSA key pair under the project
//! (`keys/private_key.pkcs7.pem`, `keys/public_key.pkcs7.pem`, a self-signed
//! certificate), values encrypted to PKCS#7 enveloped data with AES-256-CBC,
//! DER, base64, written `ENC[PKCS7,...]`. What `openssl smime` makes with the
//! same certificate reads here, and the other way round.

use std::path::{Path, PathBuf};

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::X509;

use crate::project::Project;

/// The project's key pair, as its settings place it.
pub struct Keys {
    /// The private key's file.
    pub private: PathBuf,
    /// The certificate's file.
    pub public: PathBuf,
    /// The size `create` makes.
    pub keysize: u32,
}

impl Keys {
    /// The key files of `project` (`plugins: pkcs7:` in its project file).
    pub fn of(project: &Project) -> Keys {
        let s = &project.pkcs7;
        let under = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                project.root.join(p)
            }
        };
        Keys {
            private: under(&s.private_key),
            public: under(&s.public_key),
            keysize: s.keysize,
        }
    }

    /// Make a new key pair (`secret createkeys`); existing keys are kept
    /// unless `force`. The private key is readable by its owner only.
    pub fn create(&self, force: bool) -> Result<(), String> {
        if !force && (self.private.exists() || self.public.exists()) {
            return Err(format!(
                "{} already exists: pass --force to replace the keys (values encrypted with them will no longer decrypt)",
                if self.private.exists() {
                    &self.private
                } else {
                    &self.public
                }
                .display()
            ));
        }
        let ssl = |e: openssl::error::ErrorStack| format!("cannot make the keys: {e}");
        let rsa = openssl::rsa::Rsa::generate(self.keysize).map_err(ssl)?;
        let key = PKey::from_rsa(rsa).map_err(ssl)?;
        let mut cert = openssl::x509::X509Builder::new().map_err(ssl)?;
        cert.set_version(2).map_err(ssl)?;
        let serial = openssl::bn::BigNum::from_u32(1)
            .and_then(|n| n.to_asn1_integer())
            .map_err(ssl)?;
        cert.set_serial_number(&serial).map_err(ssl)?;
        let name = openssl::x509::X509NameBuilder::new()
            .map(|b| b.build())
            .map_err(ssl)?;
        cert.set_subject_name(&name).map_err(ssl)?;
        cert.set_issuer_name(&name).map_err(ssl)?;
        cert.set_pubkey(&key).map_err(ssl)?;
        let now = openssl::asn1::Asn1Time::days_from_now(0).map_err(ssl)?;
        let until = openssl::asn1::Asn1Time::days_from_now(50 * 365).map_err(ssl)?;
        cert.set_not_before(&now).map_err(ssl)?;
        cert.set_not_after(&until).map_err(ssl)?;
        cert.sign(&key, openssl::hash::MessageDigest::sha512())
            .map_err(ssl)?;
        let private = key.private_key_to_pem_pkcs8().map_err(ssl)?;
        let public = cert.build().to_pem().map_err(ssl)?;
        for path in [&self.private, &self.public] {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
            }
        }
        write_private(&self.private, &private)?;
        std::fs::write(&self.public, public)
            .map_err(|e| format!("cannot write {}: {e}", self.public.display()))
    }

    /// `ENC[PKCS7,...]` of `plain`.
    pub fn encrypt(&self, plain: &[u8]) -> Result<String, String> {
        let cert = self.certificate()?;
        let mut certs = Stack::new().map_err(|e| e.to_string())?;
        certs.push(cert).map_err(|e| e.to_string())?;
        let der = Pkcs7::encrypt(&certs, plain, Cipher::aes_256_cbc(), Pkcs7Flags::BINARY)
            .and_then(|p| p.to_der())
            .map_err(|e| format!("cannot encrypt: {e}"))?;
        Ok(format!(
            "ENC[PKCS7,{}]",
            openssl::base64::encode_block(&der)
        ))
    }

    /// The text of an `ENC[PKCS7,...]` value (whitespace in the base64, as
    /// a folded YAML string has, is ignored).
    pub fn decrypt(&self, value: &str) -> Result<String, String> {
        let body = value
            .trim()
            .strip_prefix("ENC[PKCS7,")
            .and_then(|v| v.strip_suffix(']'))
            .ok_or("the value is not `ENC[PKCS7,...]`")?;
        let key = self.private_key()?;
        let cert = self.certificate()?;
        let body: String = body.split_whitespace().collect();
        let der = openssl::base64::decode_block(&body)
            .map_err(|_| "the value is not base64 (bad ciphertext)".to_string())?;
        let p7 = Pkcs7::from_der(&der)
            .map_err(|_| "the value is not PKCS#7 data (bad ciphertext)".to_string())?;
        let plain = p7
            .decrypt(&key, &cert, Pkcs7Flags::empty())
            .map_err(|_| {
                format!(
                    "cannot decrypt the value with {}: it was encrypted to another key, or it is damaged",
                    self.private.display()
                )
            })?;
        String::from_utf8(plain).map_err(|_| "the decrypted value is not UTF-8 text".into())
    }

    fn private_key(&self) -> Result<PKey<Private>, String> {
        let pem = read_key(&self.private, "private key")?;
        PKey::private_key_from_pem(&pem)
            .map_err(|_| format!("{} is not a PEM private key", self.private.display()))
    }

    fn certificate(&self) -> Result<X509, String> {
        let pem = read_key(&self.public, "public key")?;
        X509::from_pem(&pem)
            .map_err(|_| format!("{} is not a PEM certificate", self.public.display()))
    }
}

fn read_key(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "the pkcs7 {what} {} is missing: make the keys with `drover secret createkeys`",
                path.display()
            )
        } else {
            format!("cannot read {}: {e}", path.display())
        }
    })
}

fn write_private(path: &Path, pem: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(pem))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_one_encrypts_the_other_decrypts() {
        let dir = std::env::temp_dir().join(format!("drover-pkcs7-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut project = Project::new(&dir);
        project.pkcs7.keysize = 1024;
        let keys = Keys::of(&project);
        keys.create(false).unwrap();
        assert!(keys.create(false).unwrap_err().contains("--force"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&keys.private).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let enc = keys.encrypt("s3cret ünïcode".as_bytes()).unwrap();
        assert!(
            enc.starts_with("ENC[PKCS7,MI") && enc.ends_with(']'),
            "{enc}"
        );
        let folded = enc.replacen("ENC[PKCS7,", "ENC[PKCS7,\n  ", 1);
        assert_eq!(keys.decrypt(&folded).unwrap(), "s3cret ünïcode");
        assert!(
            keys.decrypt("ENC[PKCS7,bm90IHBrY3M3]")
                .unwrap_err()
                .contains("bad ciphertext")
        );
        assert!(
            keys.decrypt("ENC[PKCS7,!!]")
                .unwrap_err()
                .contains("bad ciphertext")
        );
        assert!(
            keys.decrypt("plain")
                .unwrap_err()
                .contains("not `ENC[PKCS7")
        );
        // Another project's keys cannot read it.
        keys.create(true).unwrap();
        assert!(keys.decrypt(&enc).unwrap_err().contains("another key"));
        std::fs::remove_file(&keys.private).unwrap();
        assert!(
            keys.decrypt(&enc)
                .unwrap_err()
                .contains("drover secret createkeys")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
