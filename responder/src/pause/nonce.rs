//! Nonces for the pauser's key.
//!
//! The chain is asked before every send (`eth_getTransactionCount(pauser, "pending")`), so transactions
//! sent by someone else with the same key, and restarts, are respected. What this backend sent and has
//! not seen mined is kept in memory ([`InFlight`]): a retry of the same call replaces it (same nonce,
//! bumped fees) instead of sending a second transaction, and another call goes after it. The
//! [`NonceManager`]'s lock is held from the dry run until the receipt, so one backend never has two of
//! its transactions racing for nonces.

use alloy_primitives::{Address, B256, Bytes};
use tokio::sync::{Mutex, MutexGuard};

use super::signer::Fees;

/// A transaction this backend sent and has not seen mined (every replacement's hash included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InFlight {
    pub nonce: u64,
    pub to: Address,
    pub input: Bytes,
    /// The latest attempt's fees.
    pub fees: Fees,
    /// Every attempt at this nonce, oldest first; a receipt of any of them ends the wait.
    pub hashes: Vec<B256>,
}

/// The nonce the next transaction uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceChoice {
    /// A new nonce.
    Fresh(u64),
    /// Replace the in-flight transaction of the same call at its nonce (fees above its fees).
    Replace(u64),
}

impl NonceChoice {
    pub(crate) fn nonce(self) -> u64 {
        match self {
            NonceChoice::Fresh(nonce) | NonceChoice::Replace(nonce) => nonce,
        }
    }
}

/// Picks the nonce. `latest` and `pending` are the node's transaction counts for the pauser (some
/// nodes, ganache among them, do not count pool transactions in `pending`); `in_flight_known` is
/// whether the node still knows the in-flight transaction (`eth_getTransactionByHash`).
pub(crate) fn choose_nonce(
    latest: u64,
    pending: u64,
    in_flight: Option<&InFlight>,
    to: Address,
    input: &Bytes,
    in_flight_known: bool,
) -> NonceChoice {
    let pending = pending.max(latest);
    match in_flight {
        // Mined (ours or someone else's at that nonce): the chain's count is the truth.
        Some(previous) if previous.nonce < latest => NonceChoice::Fresh(pending),
        Some(previous) if previous.to == to && previous.input == *input => {
            NonceChoice::Replace(previous.nonce)
        }
        Some(previous) if in_flight_known => NonceChoice::Fresh(pending.max(previous.nonce + 1)),
        _ => NonceChoice::Fresh(pending),
    }
}

/// What a JSON-RPC error from `eth_sendRawTransaction` means for the nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendFailure {
    /// The nonce is used (mined) already: read it again.
    NonceTooLow,
    /// The node has this very transaction already: it was sent.
    AlreadyKnown,
    /// A transaction with this nonce is pooled at higher fees: bump.
    Underpriced,
    /// Anything else (insufficient funds, …): give up with the node's message.
    Other,
}

pub(crate) fn classify_send_error(message: &str) -> SendFailure {
    let message = message.to_ascii_lowercase();
    if message.contains("nonce too low")
        || message.contains("nonce is too low")
        || message.contains("correct nonce") // ganache: "the tx doesn't have the correct nonce"
        || message.contains("nonce has already been used")
    {
        SendFailure::NonceTooLow
    } else if message.contains("already known")
        || message.contains("already imported")
        || message.contains("known transaction")
    {
        SendFailure::AlreadyKnown
    } else if message.contains("underpriced") || message.contains("fee too low") {
        SendFailure::Underpriced
    } else {
        SendFailure::Other
    }
}

/// The in-flight state of one backend behind its lock.
#[derive(Debug, Default)]
pub(crate) struct NonceManager {
    in_flight: Mutex<Option<InFlight>>,
}

impl NonceManager {
    /// Held from the dry run until the receipt (or a timeout) of one pause or unpause.
    pub(crate) async fn lock(&self) -> MutexGuard<'_, Option<InFlight>> {
        self.in_flight.lock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_flight(nonce: u64, input: &[u8]) -> InFlight {
        InFlight {
            nonce,
            to: Address::repeat_byte(1),
            input: Bytes::copy_from_slice(input),
            fees: Fees::Legacy { gas_price: 1 },
            hashes: vec![B256::repeat_byte(9)],
        }
    }

    #[test]
    fn nonces_follow_the_chain_and_replace_a_stuck_transaction_of_the_same_call() {
        let to = Address::repeat_byte(1);
        let pause = Bytes::from_static(&[1]);
        let unpause = Bytes::from_static(&[2]);
        // Nothing in flight: the node's pending count (never below latest).
        assert_eq!(
            choose_nonce(4, 4, None, to, &pause, false),
            NonceChoice::Fresh(4)
        );
        assert_eq!(
            choose_nonce(5, 3, None, to, &pause, false),
            NonceChoice::Fresh(5)
        );
        // Ours was mined (or someone else used the nonce): fresh.
        let mined = in_flight(3, &[1]);
        assert_eq!(
            choose_nonce(4, 4, Some(&mined), to, &pause, true),
            NonceChoice::Fresh(4)
        );
        // The same call still in flight: replace it rather than send a second pause.
        let stuck = in_flight(4, &[1]);
        assert_eq!(
            choose_nonce(4, 4, Some(&stuck), to, &pause, true),
            NonceChoice::Replace(4)
        );
        // Another call goes after it while the node knows it, reuses the nonce when it was dropped.
        assert_eq!(
            choose_nonce(4, 4, Some(&stuck), to, &unpause, true),
            NonceChoice::Fresh(5)
        );
        assert_eq!(
            choose_nonce(4, 4, Some(&stuck), to, &unpause, false),
            NonceChoice::Fresh(4)
        );
    }

    #[test]
    fn node_messages_are_classified() {
        for (message, expected) in [
            ("nonce too low", SendFailure::NonceTooLow),
            (
                "the tx doesn't have the correct nonce. account has nonce of: 1 tx has nonce of: 0",
                SendFailure::NonceTooLow,
            ),
            ("already known", SendFailure::AlreadyKnown),
            (
                "replacement transaction underpriced",
                SendFailure::Underpriced,
            ),
            ("transaction underpriced", SendFailure::Underpriced),
            (
                "insufficient funds for gas * price + value",
                SendFailure::Other,
            ),
        ] {
            assert_eq!(classify_send_error(message), expected, "{message}");
        }
    }
}
