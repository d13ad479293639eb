//! The pauser's key, the fees, and signed raw transactions for [`super::EvmPausable`].
//!
//! Everything cryptographic is alloy's: the key is a `PrivateKeySigner` (k256), the transactions are
//! `alloy_consensus` types signed over their `signature_hash` and encoded as EIP-2718 envelopes.

use std::path::Path;

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::{LocalSignerError, PrivateKeySigner};

use super::{BackendError, EvmPausableConfig};

const GWEI: f64 = 1e9;

/// Loads the pauser's key from `key_env` or `keystore` + `password_env` through `env`, and checks it
/// against `from` when that is set. Every failure is [`BackendError::Misconfigured`] with the config key
/// it concerns; the key itself never appears in a message.
pub(crate) fn load_signer(
    config: &EvmPausableConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PrivateKeySigner, BackendError> {
    let misconfigured = |message: String| BackendError::Misconfigured(message);
    let signer = match (&config.key_env, &config.keystore) {
        (Some(_), Some(_)) => {
            return Err(misconfigured(
                "pause.evm: set key_env or keystore, not both".to_owned(),
            ));
        }
        (None, None) => {
            return Err(misconfigured(
                "pause.evm needs the pauser's key: key_env = \"VAR\" (hex private key in that \
                 environment variable) or keystore = \"path\" + password_env = \"VAR\""
                    .to_owned(),
            ));
        }
        (Some(variable), None) => {
            let text = env(variable).ok_or_else(|| {
                misconfigured(format!(
                    "environment variable {variable} is not set (pause.evm.key_env)"
                ))
            })?;
            parse_private_key(&text).map_err(|why| {
                misconfigured(format!(
                    "environment variable {variable} (pause.evm.key_env) {why}"
                ))
            })?
        }
        (None, Some(path)) => {
            let variable = config.password_env.as_deref().ok_or_else(|| {
                misconfigured(
                    "pause.evm.keystore needs password_env (the variable holding its password)"
                        .to_owned(),
                )
            })?;
            let password = env(variable).ok_or_else(|| {
                misconfigured(format!(
                    "environment variable {variable} is not set (pause.evm.password_env)"
                ))
            })?;
            decrypt_keystore(Path::new(path), &password).map_err(misconfigured)?
        }
    };
    if !config.from.is_empty() {
        let from: Address = config.from.parse().map_err(|_| {
            misconfigured(format!(
                "pause.evm.from {:?} is not a 20-byte address",
                config.from
            ))
        })?;
        if from != signer.address() {
            return Err(misconfigured(format!(
                "pause.evm.from is {from} but the key belongs to {}; fix from (or leave it out) or load the right key",
                signer.address()
            )));
        }
    }
    Ok(signer)
}

/// A hex secp256k1 private key, `0x` optional; the error says what is wrong without echoing the key.
pub(crate) fn parse_private_key(text: &str) -> Result<PrivateKeySigner, String> {
    let text = text.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if digits.is_empty() {
        return Err("is empty".to_owned());
    }
    if !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("is not a hex private key (non-hex characters)".to_owned());
    }
    if digits.len() != 64 {
        return Err(format!(
            "is not a private key: {} hex digits, expected 64",
            digits.len()
        ));
    }
    let bytes = hex::decode(digits).map_err(|_| "is not valid hex".to_owned())?;
    PrivateKeySigner::from_slice(&bytes).map_err(|_| {
        "is not a valid secp256k1 private key (zero or above the curve order)".to_owned()
    })
}

fn decrypt_keystore(path: &Path, password: &str) -> Result<PrivateKeySigner, String> {
    let shown = path.display();
    if let Err(error) = std::fs::metadata(path) {
        return Err(format!("cannot read pause.evm.keystore {shown}: {error}"));
    }
    PrivateKeySigner::decrypt_keystore(path, password).map_err(|error| match error {
        // eth-keystore's MacMismatch: the password does not decrypt the file.
        LocalSignerError::EthKeystoreError(error) if error.to_string() == "Mac Mismatch" => format!(
            "wrong password for pause.evm.keystore {shown} (the MAC does not match; check password_env)"
        ),
        LocalSignerError::IoError(error) => {
            format!("cannot read pause.evm.keystore {shown}: {error}")
        }
        LocalSignerError::EthKeystoreError(error) => {
            format!("pause.evm.keystore {shown} is not a usable keystore file: {error}")
        }
        other => format!("pause.evm.keystore {shown} holds no usable key: {other}"),
    })
}

/// Gwei (as configured) to wei.
pub(crate) fn gwei_to_wei(gwei: f64) -> u128 {
    // Configured values are validated finite and non-negative; fractions of a gwei are kept.
    (gwei * GWEI).round() as u128
}

/// What a transaction pays for gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fees {
    /// Type 2: the chain has a base fee.
    Eip1559 { max_fee: u128, priority_fee: u128 },
    /// Type 0 with EIP-155 replay protection: the chain has no base fee.
    Legacy { gas_price: u128 },
}

impl Fees {
    /// The most one unit of gas may cost.
    pub(crate) fn max_per_gas(self) -> u128 {
        match self {
            Fees::Eip1559 { max_fee, .. } => max_fee,
            Fees::Legacy { gas_price } => gas_price,
        }
    }

    /// The first attempt's fees. With a base fee (`baseFeePerGas` of the latest block): EIP-1559,
    /// `maxFeePerGas = min(cap, 2 × base + priority)` and the priority fee within it. Without one: legacy,
    /// `gasPrice = min(cap, eth_gasPrice)`.
    pub(crate) fn initial(
        base_fee: Option<u128>,
        gas_price: u128,
        priority: u128,
        cap: u128,
    ) -> Fees {
        match base_fee {
            Some(base) => {
                let max_fee = base.saturating_mul(2).saturating_add(priority).min(cap);
                Fees::Eip1559 {
                    max_fee,
                    priority_fee: priority.min(max_fee),
                }
            }
            None => Fees::Legacy {
                gas_price: gas_price.min(cap),
            },
        }
    }

    /// The replacement's fees: +12.5% (at least +1 wei) on every price, never above `cap`; `None` when
    /// the fees are at the cap already (nothing higher may be sent).
    pub(crate) fn bumped(self, cap: u128) -> Option<Fees> {
        let bump = |value: u128| value.saturating_add((value / 8).max(1)).min(cap);
        let next = match self {
            Fees::Eip1559 {
                max_fee,
                priority_fee,
            } => {
                let max_fee = bump(max_fee);
                Fees::Eip1559 {
                    max_fee,
                    priority_fee: bump(priority_fee).min(max_fee),
                }
            }
            Fees::Legacy { gas_price } => Fees::Legacy {
                gas_price: bump(gas_price),
            },
        };
        (next != self && next.max_per_gas() > self.max_per_gas()).then_some(next)
    }
}

impl std::fmt::Display for Fees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gwei = |wei: u128| wei as f64 / GWEI;
        match *self {
            Fees::Eip1559 {
                max_fee,
                priority_fee,
            } => write!(
                f,
                "max fee {} gwei, priority fee {} gwei",
                gwei(max_fee),
                gwei(priority_fee)
            ),
            Fees::Legacy { gas_price } => write!(f, "legacy gas price {} gwei", gwei(gas_price)),
        }
    }
}

/// Everything a pause transaction is made of but the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxParams {
    pub chain_id: u64,
    pub nonce: u64,
    pub gas_limit: u64,
    pub to: Address,
    pub input: Bytes,
    pub fees: Fees,
}

/// A signed transaction: its hash and its EIP-2718 encoding for `eth_sendRawTransaction`.
#[derive(Debug, Clone)]
pub(crate) struct SignedTx {
    pub hash: B256,
    pub raw: Bytes,
}

/// Builds the transaction (EIP-1559 or EIP-155 legacy, by `params.fees`), signs its signature hash and
/// encodes the envelope.
pub(crate) fn sign(signer: &PrivateKeySigner, params: &TxParams) -> Result<SignedTx, BackendError> {
    let envelope: TxEnvelope = match params.fees {
        Fees::Eip1559 {
            max_fee,
            priority_fee,
        } => {
            let tx = TxEip1559 {
                chain_id: params.chain_id,
                nonce: params.nonce,
                gas_limit: params.gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: priority_fee,
                to: TxKind::Call(params.to),
                value: U256::ZERO,
                access_list: Default::default(),
                input: params.input.clone(),
            };
            let signature = signer
                .sign_hash_sync(&tx.signature_hash())
                .map_err(|error| BackendError::Other(format!("cannot sign: {error}")))?;
            tx.into_signed(signature).into()
        }
        Fees::Legacy { gas_price } => {
            let tx = TxLegacy {
                chain_id: Some(params.chain_id),
                nonce: params.nonce,
                gas_price,
                gas_limit: params.gas_limit,
                to: TxKind::Call(params.to),
                value: U256::ZERO,
                input: params.input.clone(),
            };
            let signature = signer
                .sign_hash_sync(&tx.signature_hash())
                .map_err(|error| BackendError::Other(format!("cannot sign: {error}")))?;
            tx.into_signed(signature).into()
        }
    };
    Ok(SignedTx {
        hash: *envelope.tx_hash(),
        raw: envelope.encoded_2718().into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::transaction::SignerRecoverable;
    use alloy_eips::eip2718::Decodable2718;

    /// ganache's deterministic account 0.
    const KEY0: &str = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    const ADDRESS0: &str = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1";

    fn config_with(toml_text: &str) -> EvmPausableConfig {
        toml::from_str(toml_text).unwrap()
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn misconfigured(result: Result<PrivateKeySigner, BackendError>) -> String {
        match result {
            Err(BackendError::Misconfigured(message)) => message,
            Err(other) => panic!("expected Misconfigured, got {other:?}"),
            Ok(signer) => panic!("expected an error, got a key for {}", signer.address()),
        }
    }

    #[test]
    fn a_key_from_the_environment_with_or_without_0x() {
        let config = config_with(r#"key_env = "PAUSER_KEY""#);
        for text in [KEY0, &KEY0[2..], &format!("  {KEY0}\n")] {
            let signer = load_signer(&config, &env_of(&[("PAUSER_KEY", text)])).unwrap();
            assert_eq!(signer.address(), ADDRESS0.parse::<Address>().unwrap());
        }
        // `from` that matches (any case) is accepted; another address is refused by name.
        let config = config_with(&format!(
            "key_env = \"PAUSER_KEY\"\nfrom = \"{}\"",
            ADDRESS0.to_lowercase()
        ));
        load_signer(&config, &env_of(&[("PAUSER_KEY", KEY0)])).unwrap();
        let config = config_with(
            "key_env = \"PAUSER_KEY\"\nfrom = \"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0\"",
        );
        let message = misconfigured(load_signer(&config, &env_of(&[("PAUSER_KEY", KEY0)])));
        assert!(
            message.contains("pause.evm.from") && message.contains(ADDRESS0),
            "{message}"
        );
    }

    #[test]
    fn missing_or_malformed_keys_are_misconfigurations_that_never_echo_the_key() {
        let config = config_with(r#"key_env = "PAUSER_KEY""#);
        let message = misconfigured(load_signer(&config, &env_of(&[])));
        assert!(
            message.contains("PAUSER_KEY is not set") && message.contains("key_env"),
            "{message}"
        );
        for (text, expected) in [
            ("", "is empty"),
            ("0xnothex", "non-hex"),
            ("0x1234", "4 hex digits, expected 64"),
            (
                "0x0000000000000000000000000000000000000000000000000000000000000000",
                "not a valid secp256k1 private key",
            ),
        ] {
            let message = misconfigured(load_signer(&config, &env_of(&[("PAUSER_KEY", text)])));
            assert!(message.contains(expected), "{text:?}: {message}");
        }
        let leaked = "4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1";
        let message = misconfigured(load_signer(&config, &env_of(&[("PAUSER_KEY", leaked)])));
        assert!(!message.contains(leaked), "{message}");
    }

    #[test]
    fn exactly_one_key_source() {
        let message = misconfigured(load_signer(&config_with(""), &env_of(&[])));
        assert!(
            message.contains("key_env") && message.contains("keystore"),
            "{message}"
        );
        let both = config_with("key_env = \"K\"\nkeystore = \"/nope.json\"\npassword_env = \"P\"");
        let message = misconfigured(load_signer(&both, &env_of(&[("K", KEY0)])));
        assert!(message.contains("not both"), "{message}");
        let no_password = config_with(r#"keystore = "/nope.json""#);
        let message = misconfigured(load_signer(&no_password, &env_of(&[])));
        assert!(message.contains("password_env"), "{message}");
    }

    #[test]
    fn keystores_decrypt_and_wrong_passwords_or_paths_are_precise() {
        let dir = tempfile::tempdir().unwrap();
        let key = hex::decode(&KEY0[2..]).unwrap();
        let mut rng = rand08::thread_rng();
        let (signer, _) = PrivateKeySigner::encrypt_keystore(
            dir.path(),
            &mut rng,
            &key,
            "correct horse",
            Some("pauser.json"),
        )
        .unwrap();
        let path = dir.path().join("pauser.json");
        let config = config_with(&format!(
            "keystore = \"{}\"\npassword_env = \"PAUSER_PASSWORD\"\nfrom = \"{ADDRESS0}\"",
            path.display()
        ));
        let loaded =
            load_signer(&config, &env_of(&[("PAUSER_PASSWORD", "correct horse")])).unwrap();
        assert_eq!(loaded.address(), signer.address());

        let message = misconfigured(load_signer(
            &config,
            &env_of(&[("PAUSER_PASSWORD", "battery staple")]),
        ));
        assert!(message.contains("wrong password"), "{message}");
        let message = misconfigured(load_signer(&config, &env_of(&[])));
        assert!(message.contains("PAUSER_PASSWORD is not set"), "{message}");

        let missing = config_with(&format!(
            "keystore = \"{}\"\npassword_env = \"P\"",
            dir.path().join("absent.json").display()
        ));
        let message = misconfigured(load_signer(&missing, &env_of(&[("P", "x")])));
        assert!(
            message.contains("cannot read pause.evm.keystore"),
            "{message}"
        );

        std::fs::write(dir.path().join("junk.json"), "{\"not\": \"a keystore\"}").unwrap();
        let junk = config_with(&format!(
            "keystore = \"{}\"\npassword_env = \"P\"",
            dir.path().join("junk.json").display()
        ));
        let message = misconfigured(load_signer(&junk, &env_of(&[("P", "x")])));
        assert!(message.contains("not a usable keystore"), "{message}");
    }

    #[test]
    fn a_base_fee_selects_eip1559_and_none_selects_legacy() {
        let gwei = 1_000_000_000u128;
        assert_eq!(
            Fees::initial(Some(10 * gwei), 99 * gwei, 2 * gwei, 500 * gwei),
            Fees::Eip1559 {
                max_fee: 22 * gwei,
                priority_fee: 2 * gwei
            }
        );
        // The cap wins over the formula, and the priority fee stays within the max fee.
        assert_eq!(
            Fees::initial(Some(400 * gwei), 0, 600 * gwei, 500 * gwei),
            Fees::Eip1559 {
                max_fee: 500 * gwei,
                priority_fee: 500 * gwei
            }
        );
        assert_eq!(
            Fees::initial(None, 30 * gwei, 2 * gwei, 500 * gwei),
            Fees::Legacy {
                gas_price: 30 * gwei
            }
        );
        assert_eq!(
            Fees::initial(None, 900 * gwei, 2 * gwei, 500 * gwei),
            Fees::Legacy {
                gas_price: 500 * gwei
            }
        );
    }

    #[test]
    fn bumps_add_an_eighth_and_never_exceed_the_cap() {
        let fees = Fees::Eip1559 {
            max_fee: 800,
            priority_fee: 80,
        };
        assert_eq!(
            fees.bumped(10_000),
            Some(Fees::Eip1559 {
                max_fee: 900,
                priority_fee: 90
            })
        );
        assert_eq!(
            fees.bumped(850),
            Some(Fees::Eip1559 {
                max_fee: 850,
                priority_fee: 90
            })
        );
        assert_eq!(
            Fees::Eip1559 {
                max_fee: 850,
                priority_fee: 90
            }
            .bumped(850),
            None,
            "at the cap: nothing to send"
        );
        assert_eq!(
            Fees::Legacy { gas_price: 3 }.bumped(100),
            Some(Fees::Legacy { gas_price: 4 }),
            "tiny prices still go up"
        );
        // Bumping repeatedly converges on the cap and stops there.
        let cap = 500_000_000_000u128;
        let mut fees = Fees::initial(Some(1_000_000_000), 0, 2_000_000_000, cap);
        let mut steps = 0;
        while let Some(next) = fees.bumped(cap) {
            assert!(next.max_per_gas() > fees.max_per_gas());
            assert!(next.max_per_gas() <= cap);
            if let Fees::Eip1559 {
                max_fee,
                priority_fee,
            } = next
            {
                assert!(priority_fee <= max_fee);
            }
            fees = next;
            steps += 1;
        }
        assert_eq!(fees.max_per_gas(), cap);
        assert!(steps > 10, "{steps}");
    }

    #[test]
    fn signed_transactions_decode_and_recover_the_pauser() {
        let signer = parse_private_key(KEY0).unwrap();
        let to: Address = "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab"
            .parse()
            .unwrap();
        let input = Bytes::from(vec![0x84, 0x56, 0xcb, 0x59]);
        for fees in [
            Fees::Eip1559 {
                max_fee: 3_000_000_000,
                priority_fee: 1_000_000_000,
            },
            Fees::Legacy {
                gas_price: 2_000_000_000,
            },
        ] {
            let params = TxParams {
                chain_id: 1337,
                nonce: 7,
                gas_limit: 60_000,
                to,
                input: input.clone(),
                fees,
            };
            let signed = sign(&signer, &params).unwrap();
            let decoded = TxEnvelope::decode_2718(&mut signed.raw.as_ref()).unwrap();
            assert_eq!(*decoded.tx_hash(), signed.hash);
            assert_eq!(decoded.recover_signer().unwrap(), signer.address());
            use alloy_consensus::Transaction;
            assert_eq!(decoded.nonce(), 7);
            assert_eq!(decoded.chain_id(), Some(1337));
            assert_eq!(decoded.to(), Some(to));
            assert_eq!(decoded.input(), &input);
            match fees {
                Fees::Eip1559 { .. } => assert!(decoded.is_eip1559()),
                Fees::Legacy { .. } => assert!(decoded.is_legacy()),
            }
        }
    }
}
