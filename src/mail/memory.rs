//! An in-memory transport for fast tests: it records every message it accepts and can be told to
//! fail the next sends, so the reminder ledger's retry logic can be tested without a server.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::mail::{MailError, OutgoingMessage, Transport};

/// The kind of failure [`MemoryTransport::fail_next`] simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulatedFailure {
    /// As if the server answered 4xx or could not be reached: [`MailError::Unavailable`].
    Transient,
    /// As if the server answered 5xx: [`MailError::Rejected`].
    Permanent,
}

#[derive(Debug, Default)]
struct State {
    sent: Vec<OutgoingMessage>,
    failures: VecDeque<SimulatedFailure>,
}

/// Keeps accepted messages in memory.
#[derive(Debug, Default)]
pub struct MemoryTransport {
    state: Mutex<State>,
}

impl MemoryTransport {
    /// An empty transport that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next `count` sends fail with `failure` (queued after failures already planned).
    /// A failed send records nothing.
    pub fn fail_next(&self, count: usize, failure: SimulatedFailure) {
        self.lock().failures.extend(std::iter::repeat_n(failure, count));
    }

    /// The messages accepted so far, in order.
    pub fn messages(&self) -> Vec<OutgoingMessage> {
        self.lock().sent.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread must not hide what was sent from the others.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Transport for MemoryTransport {
    fn send(&self, message: &OutgoingMessage) -> Result<(), MailError> {
        let mut state = self.lock();
        match state.failures.pop_front() {
            Some(SimulatedFailure::Transient) => {
                Err(MailError::Unavailable("simulated failure: 451 4.3.0 try again later".to_owned()))
            }
            Some(SimulatedFailure::Permanent) => {
                Err(MailError::Rejected("simulated failure: 550 5.1.1 mailbox unavailable".to_owned()))
            }
            None => {
                state.sent.push(message.clone());
                Ok(())
            }
        }
    }
}
