//! The one module that speaks tss-esapi: a connection to the TPM with the
//! storage primary loaded, object templates, and typed operations.
//!
//! Transient-object budget: a TPM without resource manager (swtpm over TCP)
//! holds 3 loaded objects. We keep the storage primary and the device
//! signing key loaded; everything else is loaded, used and flushed.

use std::str::FromStr as _;

use p256::ecdsa::VerifyingKey;
use sha2::Digest as _;
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::constants::response_code::Tss2ResponseCodeKind;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::constants::{CapabilityType, PropertyTag, SessionType};
use tss_esapi::handles::{KeyHandle, ObjectHandle, PcrHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Attest, Auth, CapabilityData, Data, Digest, DigestValues, EccParameter, EccPoint, EccScheme,
    HashScheme, HashcheckTicket, KeyDerivationFunctionScheme, KeyedHashScheme, PcrSelectionList,
    PcrSlot, Private, Public, PublicBuilder, PublicEccParametersBuilder, PublicKeyedHashParameters,
    SensitiveData, Signature, SignatureScheme, SymmetricDefinition, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::{Marshall as _, UnMarshall as _};
use tss_esapi::tss2_esys::{TPM2B_DIGEST, TPMT_TK_HASHCHECK};
use tss_esapi::Context;
use zeroize::Zeroizing;

use crate::KeydError;

/// Parses a TCTI string, accepting only a kernel device or swtpm.
pub(crate) fn parse_tcti(tcti: &str) -> Result<TctiNameConf, KeydError> {
    if !(tcti.starts_with("device:") || tcti.starts_with("swtpm:")) {
        return Err(KeydError::BadTcti(tcti.to_owned()));
    }
    TctiNameConf::from_str(tcti).map_err(|_| KeydError::BadTcti(tcti.to_owned()))
}

pub(crate) fn tpm_err(operation: &'static str) -> impl FnOnce(tss_esapi::Error) -> KeydError {
    move |e| KeydError::Tpm {
        operation,
        detail: e.to_string(),
    }
}

/// The TPM response kind of an error, if it came from the TPM.
pub(crate) fn rc_kind(e: &tss_esapi::Error) -> Option<Tss2ResponseCodeKind> {
    match e {
        tss_esapi::Error::Tss2Error(rc) => rc.kind(),
        tss_esapi::Error::WrapperError(_) => None,
    }
}

/// A TPM object as kept on disk: its public and private areas.
#[derive(Debug, Clone)]
pub(crate) struct ObjectBlob {
    pub(crate) public: Public,
    pub(crate) private: Private,
}

impl ObjectBlob {
    pub(crate) fn to_parts(&self) -> Result<(Vec<u8>, Vec<u8>), KeydError> {
        let public = self
            .public
            .marshall()
            .map_err(|e| KeydError::Encoding(format!("public area: {e}")))?;
        Ok((public, self.private.value().to_vec()))
    }

    pub(crate) fn from_parts(public: &[u8], private: Vec<u8>) -> Result<Self, String> {
        Ok(Self {
            public: Public::unmarshall(public).map_err(|e| format!("public area: {e}"))?,
            private: Private::try_from(private).map_err(|e| format!("private area: {e}"))?,
        })
    }

    /// The P-256 public key of an ECC object.
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, KeydError> {
        ecc_public_key(&self.public)
    }
}

/// The TPM name: nameAlg (SHA-256) || SHA-256(TPMT_PUBLIC).
pub(crate) fn public_name(public: &Public) -> Result<Vec<u8>, KeydError> {
    let marshalled = public
        .marshall()
        .map_err(|e| KeydError::Encoding(format!("public area: {e}")))?;
    let mut name = vec![0x00, 0x0b];
    name.extend_from_slice(&sha2::Sha256::digest(&marshalled));
    Ok(name)
}

pub(crate) fn ecc_public_key(public: &Public) -> Result<VerifyingKey, KeydError> {
    let Public::Ecc { unique, .. } = public else {
        return Err(KeydError::Encoding("not an ECC key".into()));
    };
    let mut sec1 = vec![0x04];
    for coord in [unique.x().value(), unique.y().value()] {
        if coord.len() > 32 {
            return Err(KeydError::Encoding(
                "ECC coordinate longer than 32 bytes".into(),
            ));
        }
        sec1.extend(std::iter::repeat_n(0, 32 - coord.len()));
        sec1.extend_from_slice(coord);
    }
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|e| KeydError::Encoding(format!("ECC point: {e}")))
}

/// What an object is for; picks its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    /// Unrestricted P-256 signing key (device signing, TLS).
    SigningKey,
    /// Restricted P-256 signing key for quotes and certify.
    AttestationKey,
    /// Sealed data object, not under DA, optionally bound to a policy.
    SealedSecret,
    /// Sealed data object whose authValue is the admin PIN, under DA.
    AdminSecret,
}

fn base_attributes() -> ObjectAttributesBuilder {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
}

fn build_public(template: Template, policy: Option<Digest>) -> Result<Public, tss_esapi::Error> {
    match template {
        Template::SigningKey | Template::AttestationKey => {
            let restricted = template == Template::AttestationKey;
            let attributes = base_attributes()
                .with_sensitive_data_origin(true)
                .with_user_with_auth(true)
                .with_no_da(true)
                .with_sign_encrypt(true)
                .with_restricted(restricted)
                .build()?;
            // The device key takes its hash from each Sign call (SHA-256/384/512);
            // a restricted key must fix its scheme.
            let scheme = if restricted {
                EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256))
            } else {
                EccScheme::Null
            };
            // (tss-esapi's builder insists on a signing scheme for signing
            // keys; the TPM accepts TPM_ALG_NULL for an unrestricted one, so
            // the builder's signing-key check is not asked for it.)
            let parameters = PublicEccParametersBuilder::new()
                .with_ecc_scheme(scheme)
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_signing_key(restricted)
                .with_restricted(restricted)
                .build()?;
            PublicBuilder::new()
                .with_public_algorithm(PublicAlgorithm::Ecc)
                .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
                .with_object_attributes(attributes)
                .with_ecc_parameters(parameters)
                .with_ecc_unique_identifier(EccPoint::default())
                .build()
        }
        Template::SealedSecret | Template::AdminSecret => {
            // A sealed data object carries caller-supplied data, so the TPM
            // requires sensitiveDataOrigin CLEAR; the data comes from the
            // TPM's own RNG (TPM2_GetRandom).
            let admin = template == Template::AdminSecret;
            let mut attributes = base_attributes().with_no_da(!admin);
            attributes = attributes.with_user_with_auth(admin || policy.is_none());
            let mut builder = PublicBuilder::new()
                .with_public_algorithm(PublicAlgorithm::KeyedHash)
                .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
                .with_object_attributes(attributes.build()?)
                .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Null))
                .with_keyed_hash_unique_identifier(Digest::default());
            if let Some(policy) = policy {
                builder = builder.with_auth_policy(policy);
            }
            builder.build()
        }
    }
}

/// The TCG "Storage Root Key" template for ECC P-256 (restricted decrypt,
/// AES-128-CFB, zero unique): recreated deterministically from the owner
/// seed on every start, so it needs no NV storage.
fn srk_public() -> Result<Public, tss_esapi::Error> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()?;
    let zero = EccParameter::try_from(vec![0u8; 32])?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new_restricted_decryption_key(
                SymmetricDefinitionObject::AES_128_CFB,
                EccCurve::NistP256,
            )
            .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::new(zero.clone(), zero))
        .build()
}

pub(crate) fn hashing_algorithm(alg: signpad_types::DigestAlgorithm) -> HashingAlgorithm {
    match alg {
        signpad_types::DigestAlgorithm::Sha256 => HashingAlgorithm::Sha256,
        signpad_types::DigestAlgorithm::Sha384 => HashingAlgorithm::Sha384,
        signpad_types::DigestAlgorithm::Sha512 => HashingAlgorithm::Sha512,
    }
}

/// SHA-256 bank selection of PCR indices 0..=23.
pub(crate) fn pcr_selection(pcrs: &[u8]) -> Result<PcrSelectionList, KeydError> {
    let slots = pcrs
        .iter()
        .map(|p| {
            // checked_shl: a PCR index from a caller must not overflow the
            // shift (PCRs 0..=23 exist on a PC-client TPM).
            1u32.checked_shl(u32::from(*p))
                .and_then(|bit| PcrSlot::try_from(bit).ok())
                .ok_or_else(|| KeydError::Encoding(format!("PCR {p} does not exist")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    PcrSelectionList::builder()
        .with_selection(HashingAlgorithm::Sha256, &slots)
        .build()
        .map_err(|e| KeydError::Encoding(format!("PCR selection: {e}")))
}

/// DA lockout state as the TPM reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutStatus {
    /// Failed authorisations counted so far.
    pub failures: u32,
    /// Failures allowed before lockout.
    pub max_failures: u32,
    /// Seconds after which one failure is forgotten.
    pub recovery_secs: u32,
}

/// An open TPM with the storage primary loaded.
#[derive(Debug)]
pub(crate) struct Tpm {
    ctx: ContextDebug,
    srk: KeyHandle,
    signing: Option<KeyHandle>,
}

/// `Context` is not `Debug`.
struct ContextDebug(Context);
impl std::fmt::Debug for ContextDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context")
    }
}

impl Tpm {
    /// Opens the TPM and creates the storage primary.
    pub(crate) fn connect(tcti: &str) -> Result<Self, KeydError> {
        let conf = parse_tcti(tcti)?;
        let no_tpm = |detail: String| KeydError::NoTpm {
            tcti: tcti.to_owned(),
            detail,
        };
        if let TctiNameConf::Device(_) = conf {
            let path = tcti.trim_start_matches("device:");
            if !std::path::Path::new(path).exists() {
                return Err(no_tpm(format!("{path} does not exist")));
            }
        }
        let mut ctx = Context::new(conf).map_err(|e| no_tpm(e.to_string()))?;
        flush_stale_handles(&mut ctx);
        let public = srk_public().map_err(tpm_err("building the SRK template"))?;
        let srk = ctx
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.create_primary(Hierarchy::Owner, public, None, None, None, None)
            })
            .map_err(|e| no_tpm(format!("creating the storage primary: {e}")))?
            .key_handle;
        Ok(Self {
            ctx: ContextDebug(ctx),
            srk,
            signing: None,
        })
    }

    pub(crate) fn ctx(&mut self) -> &mut Context {
        &mut self.ctx.0
    }

    /// Whether the TPM still answers (used after an error).
    pub(crate) fn is_alive(&mut self) -> bool {
        self.ctx()
            .execute_without_session(|ctx| ctx.get_random(1))
            .is_ok()
    }

    pub(crate) fn random(&mut self, len: usize) -> Result<Zeroizing<Vec<u8>>, KeydError> {
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        while out.len() < len {
            let chunk = self
                .ctx()
                .execute_without_session(|ctx| ctx.get_random((len - out.len()).min(32)))
                .map_err(tpm_err("TPM2_GetRandom"))?;
            out.extend_from_slice(chunk.value());
        }
        Ok(out)
    }

    /// Creates an object under the storage primary.
    pub(crate) fn create(
        &mut self,
        template: Template,
        auth: Option<&[u8]>,
        data: Option<&[u8]>,
        policy: Option<Digest>,
    ) -> Result<ObjectBlob, KeydError> {
        let public = build_public(template, policy).map_err(tpm_err("building a template"))?;
        let auth = auth
            .map(|a| Auth::try_from(a.to_vec()))
            .transpose()
            .map_err(tpm_err("preparing the authValue"))?;
        let data = data
            .map(|d| SensitiveData::try_from(d.to_vec()))
            .transpose()
            .map_err(tpm_err("preparing sealed data"))?;
        let srk = self.srk;
        let created = self
            .ctx()
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.create(srk, public, auth, data, None, None)
            })
            .map_err(tpm_err("TPM2_Create"))?;
        Ok(ObjectBlob {
            public: created.out_public,
            private: created.out_private,
        })
    }

    pub(crate) fn load(&mut self, blob: &ObjectBlob) -> Result<KeyHandle, KeydError> {
        let srk = self.srk;
        self.ctx()
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.load(srk, blob.private.clone(), blob.public.clone())
            })
            .map_err(tpm_err("TPM2_Load"))
    }

    pub(crate) fn flush(&mut self, handle: KeyHandle) {
        if let Err(e) = self.ctx().flush_context(ObjectHandle::from(handle)) {
            tracing::warn!(error = %e, "flushing a transient object failed");
        }
    }

    /// The handle of the device signing key, loading it on first use; it
    /// then stays loaded for the life of the connection.
    pub(crate) fn signing_key(&mut self, blob: &ObjectBlob) -> Result<KeyHandle, KeydError> {
        if let Some(h) = self.signing {
            return Ok(h);
        }
        let h = self.load(blob)?;
        self.signing = Some(h);
        Ok(h)
    }

    /// Flushes the kept signing key (it is reloaded on next use).
    pub(crate) fn unload_signing_key(&mut self) {
        if let Some(h) = self.signing.take() {
            self.flush(h);
        }
    }

    /// Loads `blob`, runs `f`, flushes the object whatever `f` returned.
    pub(crate) fn with_loaded<T>(
        &mut self,
        blob: &ObjectBlob,
        f: impl FnOnce(&mut Self, KeyHandle) -> Result<T, KeydError>,
    ) -> Result<T, KeydError> {
        let handle = self.load(blob)?;
        let result = f(self, handle);
        self.flush(handle);
        result
    }

    /// ECDSA signature (r, s) of a pre-computed digest.
    pub(crate) fn sign(
        &mut self,
        key: KeyHandle,
        hash: HashingAlgorithm,
        digest: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), KeydError> {
        let digest = Digest::try_from(digest.to_vec()).map_err(tpm_err("preparing the digest"))?;
        let ticket = null_hashcheck_ticket()?;
        let scheme = SignatureScheme::EcDsa {
            hash_scheme: HashScheme::new(hash),
        };
        let signature = self
            .ctx()
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.sign(key, digest, scheme, ticket)
            })
            .map_err(tpm_err("TPM2_Sign"))?;
        ecdsa_parts(signature)
    }

    /// Unseals with the object's authValue (password session).
    pub(crate) fn unseal_with_auth(
        &mut self,
        handle: KeyHandle,
        auth: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, tss_esapi::Error> {
        let ctx = self.ctx();
        ctx.tr_set_auth(ObjectHandle::from(handle), Auth::try_from(auth.to_vec())?)?;
        let data = ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
            ctx.unseal(ObjectHandle::from(handle))
        })?;
        Ok(Zeroizing::new(data.value().to_vec()))
    }

    /// TPM2_ObjectChangeAuth: a new private area of the object with
    /// `new_auth`, authorised by its current authValue `old_auth`.
    pub(crate) fn change_auth(
        &mut self,
        handle: KeyHandle,
        old_auth: &[u8],
        new_auth: &[u8],
    ) -> Result<Private, tss_esapi::Error> {
        let srk = self.srk;
        let ctx = self.ctx();
        ctx.tr_set_auth(
            ObjectHandle::from(handle),
            Auth::try_from(old_auth.to_vec())?,
        )?;
        let new_auth = Auth::try_from(new_auth.to_vec())?;
        ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
            ctx.object_change_auth(
                ObjectHandle::from(handle),
                ObjectHandle::from(srk),
                new_auth,
            )
        })
    }

    /// Policy digest of "PCRs in `selection` have their current values".
    pub(crate) fn pcr_policy_digest(
        &mut self,
        selection: &PcrSelectionList,
    ) -> Result<Digest, KeydError> {
        let session = self.start_policy_session(SessionType::Trial)?;
        let result = self
            .ctx()
            .policy_pcr(session, Digest::default(), selection.clone())
            .and_then(|()| self.ctx().policy_get_digest(session))
            .map_err(tpm_err("computing the PCR policy"));
        self.flush_session(session);
        result
    }

    /// Unseals an object bound to a PCR policy.
    pub(crate) fn unseal_with_pcr_policy(
        &mut self,
        handle: KeyHandle,
        selection: &PcrSelectionList,
    ) -> Result<Zeroizing<Vec<u8>>, KeydError> {
        let session = self.start_policy_session(SessionType::Policy)?;
        let result = self
            .ctx()
            .policy_pcr(session, Digest::default(), selection.clone())
            .map_err(tpm_err("TPM2_PolicyPCR"))
            .and_then(|()| {
                let ctx = self.ctx();
                ctx.execute_with_sessions(
                    (Some(AuthSession::PolicySession(session)), None, None),
                    |ctx| ctx.unseal(ObjectHandle::from(handle)),
                )
                .map_err(|e| match rc_kind(&e) {
                    Some(Tss2ResponseCodeKind::PolicyFail) => KeydError::PolicyMismatch,
                    _ => tpm_err("TPM2_Unseal")(e),
                })
            })
            .map(|data| Zeroizing::new(data.value().to_vec()));
        self.flush_session(session);
        result
    }

    fn start_policy_session(&mut self, kind: SessionType) -> Result<PolicySession, KeydError> {
        let session = self
            .ctx()
            .start_auth_session(
                None,
                None,
                None,
                kind,
                SymmetricDefinition::AES_128_CFB,
                HashingAlgorithm::Sha256,
            )
            .map_err(tpm_err("TPM2_StartAuthSession"))?
            .ok_or_else(|| KeydError::Tpm {
                operation: "TPM2_StartAuthSession",
                detail: "no session returned".into(),
            })?;
        PolicySession::try_from(session).map_err(tpm_err("TPM2_StartAuthSession"))
    }

    fn flush_session(&mut self, session: PolicySession) {
        let handle = ObjectHandle::from(tss_esapi::handles::SessionHandle::from(session));
        if let Err(e) = self.ctx().flush_context(handle) {
            tracing::warn!(error = %e, "flushing a policy session failed");
        }
    }

    /// Reads the DA counters (uncached).
    pub(crate) fn lockout_status(&mut self) -> Result<LockoutStatus, KeydError> {
        let (data, _) = self
            .ctx()
            .get_capability(
                CapabilityType::TpmProperties,
                tss_esapi::constants::tss::TPM2_PT_LOCKOUT_COUNTER,
                3,
            )
            .map_err(tpm_err("reading the lockout counters"))?;
        let CapabilityData::TpmProperties(props) = data else {
            return Err(KeydError::Tpm {
                operation: "reading the lockout counters",
                detail: "unexpected capability data".into(),
            });
        };
        let get = |tag| props.find(tag).map_or(0, |p| p.value());
        Ok(LockoutStatus {
            failures: get(PropertyTag::LockoutCounter),
            max_failures: get(PropertyTag::MaxAuthFail),
            recovery_secs: get(PropertyTag::LockoutInterval),
        })
    }

    /// TPM2_Quote of `selection` with `nonce`, signed by the loaded `ak`.
    pub(crate) fn quote(
        &mut self,
        ak: KeyHandle,
        nonce: &[u8],
        selection: &PcrSelectionList,
    ) -> Result<(Attest, Signature), KeydError> {
        let data = Data::try_from(nonce.to_vec()).map_err(tpm_err("preparing the nonce"))?;
        self.ctx()
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.quote(ak, data, SignatureScheme::Null, selection.clone())
            })
            .map_err(tpm_err("TPM2_Quote"))
    }

    /// TPM2_Certify of `object` by the loaded `ak`.
    pub(crate) fn certify(
        &mut self,
        object: KeyHandle,
        ak: KeyHandle,
        nonce: &[u8],
    ) -> Result<(Attest, Signature), KeydError> {
        let data = Data::try_from(nonce.to_vec()).map_err(tpm_err("preparing the nonce"))?;
        self.ctx()
            .execute_with_sessions(
                (
                    Some(AuthSession::Password),
                    Some(AuthSession::Password),
                    None,
                ),
                |ctx| ctx.certify(ObjectHandle::from(object), ak, data, SignatureScheme::Null),
            )
            .map_err(tpm_err("TPM2_Certify"))
    }

    /// The endorsement key certificate the manufacturer stored in NV (ECC
    /// P-256, ECC P-384 or RSA 2048 index), if any.
    pub(crate) fn ek_certificate(&mut self) -> Option<Vec<u8>> {
        use tss_esapi::abstraction::{ek, AsymmetricAlgorithmSelection as A};
        use tss_esapi::interface_types::key_bits::RsaKeyBits;
        [
            A::Ecc(EccCurve::NistP256),
            A::Ecc(EccCurve::NistP384),
            A::Rsa(RsaKeyBits::Rsa2048),
        ]
        .into_iter()
        .find_map(|alg| ek::retrieve_ek_pubcert(self.ctx(), alg).ok())
    }

    /// Extends a PCR with a SHA-256 digest (tests and measured events).
    pub(crate) fn pcr_extend(&mut self, pcr: PcrHandle, digest: [u8; 32]) -> Result<(), KeydError> {
        let mut values = DigestValues::new();
        values.set(
            HashingAlgorithm::Sha256,
            Digest::try_from(digest.to_vec()).map_err(tpm_err("preparing the digest"))?,
        );
        self.ctx()
            .execute_with_session(Some(AuthSession::Password), |ctx| {
                ctx.pcr_extend(pcr, values)
            })
            .map_err(tpm_err("TPM2_PCR_Extend"))
    }
}

/// Flushes transient objects and sessions left in the TPM by an earlier
/// keyd that died without flushing them (kill -9, power loss of the
/// daemon only). Without a resource manager (swtpm over TCP) they would
/// otherwise fill the TPM's three object slots after a few crashes. This is
/// safe because keyd is the only process that uses the TPM; behind
/// `/dev/tpmrm0` the list is empty (the kernel flushes per connection).
fn flush_stale_handles(ctx: &mut Context) {
    use tss_esapi::constants::tss::{TPM2_LOADED_SESSION_FIRST, TPM2_TRANSIENT_FIRST};
    for first in [TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST] {
        let handles = match ctx
            .execute_without_session(|c| c.get_capability(CapabilityType::Handles, first, 64))
        {
            Ok((CapabilityData::Handles(list), _)) => list.into_inner(),
            _ => continue,
        };
        for handle in handles {
            let flushed = ctx
                .execute_without_session(|c| c.tr_from_tpm_public(handle))
                .and_then(|h| ctx.flush_context(h));
            match flushed {
                Ok(()) => tracing::info!(?handle, "flushed a stale TPM handle"),
                Err(e) => tracing::warn!(?handle, error = %e, "cannot flush a stale TPM handle"),
            }
        }
    }
}

fn null_hashcheck_ticket() -> Result<HashcheckTicket, KeydError> {
    HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
        tag: TPM2_ST_HASHCHECK,
        hierarchy: TPM2_RH_NULL,
        digest: TPM2B_DIGEST::default(),
    })
    .map_err(tpm_err("building the hashcheck ticket"))
}

pub(crate) fn ecdsa_parts(signature: Signature) -> Result<(Vec<u8>, Vec<u8>), KeydError> {
    match signature {
        Signature::EcDsa(sig) => Ok((
            sig.signature_r().value().to_vec(),
            sig.signature_s().value().to_vec(),
        )),
        other => Err(KeydError::Tpm {
            operation: "TPM2_Sign",
            detail: format!("unexpected signature algorithm {:?}", other.algorithm()),
        }),
    }
}

/// DER `ECDSA-Sig-Value` from big-endian r and s.
pub(crate) fn der_signature(r: &[u8], s: &[u8]) -> Result<p256::ecdsa::DerSignature, KeydError> {
    let pad = |v: &[u8]| -> Result<p256::FieldBytes, KeydError> {
        if v.len() > 32 {
            return Err(KeydError::Encoding(
                "ECDSA scalar longer than 32 bytes".into(),
            ));
        }
        let mut out = p256::FieldBytes::default();
        out[32 - v.len()..].copy_from_slice(v);
        Ok(out)
    };
    let sig = p256::ecdsa::Signature::from_scalars(pad(r)?, pad(s)?)
        .map_err(|e| KeydError::Encoding(format!("ECDSA signature: {e}")))?;
    Ok(sig.to_der())
}

#[cfg(test)]
mod pcr_selection_tests {
    use super::*;

    #[test]
    fn pcr_index_beyond_the_bank_is_an_error_not_a_panic() {
        for bad in [24u8, 31, 32, 40, 255] {
            assert!(pcr_selection(&[bad]).is_err(), "PCR {bad} accepted");
        }
        assert!(pcr_selection(&[0, 7, 23]).is_ok());
    }
}
