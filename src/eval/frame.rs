//! Frames (one plan invocation's block scopes) and the `async` branches of a
//! plan invocation, driven beside its body.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;

use super::BoxFuture;
use crate::value::{ErrorValue, FutureSlot, Value};

/// Variables of one plan invocation: a stack of block scopes. Names borrow
/// from the AST and scopes are small vectors: a loop iteration allocates at
/// most its own scope.
#[derive(Default)]
pub(crate) struct Frame<'p> {
    pub(super) scopes: Vec<Vec<(&'p str, Value)>>,
    /// The `async` branches of the plan invocation this frame belongs to.
    pub(super) branches: Option<Rc<Branches<'p>>>,
}

/// The `async` branches of one plan invocation: new ones wait in an inbox
/// until the driver of the plan (see [`Branches::drive`]) polls them beside
/// the plan's body.
#[derive(Default)]
pub(crate) struct Branches<'p> {
    inbox: RefCell<Vec<BoxFuture<'p, ()>>>,
    running: RefCell<futures::stream::FuturesUnordered<BoxFuture<'p, ()>>>,
    started: RefCell<Vec<Arc<FutureSlot>>>,
}

impl<'p> Branches<'p> {
    pub(super) fn start(&self, slot: Arc<FutureSlot>, branch: BoxFuture<'p, ()>) {
        self.started.borrow_mut().push(slot);
        self.inbox.borrow_mut().push(branch);
    }

    /// Poll every branch once (and those they start).
    pub(super) fn poll(&self, cx: &mut std::task::Context<'_>) {
        use futures::StreamExt;
        loop {
            let new: Vec<_> = self.inbox.borrow_mut().drain(..).collect();
            let mut running = self.running.borrow_mut();
            running.extend(new);
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            drop(running);
            if self.inbox.borrow().is_empty() {
                return;
            }
        }
    }

    /// Run `body` while keeping the branches going.
    pub(super) async fn drive<T>(&self, body: impl Future<Output = T>) -> T {
        let mut body = std::pin::pin!(body);
        std::future::poll_fn(|cx| {
            self.poll(cx);
            match body.as_mut().poll(cx) {
                Poll::Ready(v) => Poll::Ready(v),
                Poll::Pending => {
                    // The body may have started branches: give them their first poll.
                    self.poll(cx);
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Wait for every branch not awaited yet; the first failure is the result.
    pub(super) async fn await_all(&self) -> Result<(), ErrorValue> {
        let mut first = None;
        loop {
            let pending: Vec<Arc<FutureSlot>> = self
                .started
                .borrow()
                .iter()
                .filter(|s| !s.awaited())
                .cloned()
                .collect();
            if pending.is_empty() {
                return first.map_or(Ok(()), Err);
            }
            for slot in pending {
                if let Err(e) = slot.wait().await {
                    first.get_or_insert(e);
                }
            }
        }
    }
}

impl<'p> Frame<'p> {
    pub(super) fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v))
    }

    /// Update the nearest variable of this name, else create it here.
    pub(super) fn assign(&mut self, name: &'p str, value: Value) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some((_, slot)) = scope.iter_mut().rev().find(|(k, _)| *k == name) {
                *slot = value;
                return;
            }
        }
        self.declare(name, value);
    }

    pub(super) fn declare(&mut self, name: &'p str, value: Value) {
        let scope = self.scopes.last_mut().expect("a scope is open");
        match scope.iter_mut().find(|(k, _)| *k == name) {
            Some((_, slot)) => *slot = value,
            None => scope.push((name, value)),
        }
    }

    pub(super) fn push(&mut self) {
        self.scopes.push(Vec::new());
    }

    /// Every visible variable, innermost first-wins, for a concurrent body.
    pub(super) fn snapshot(&self) -> Arc<Vec<(&'p str, Value)>> {
        let mut vars: Vec<(&'p str, Value)> = Vec::new();
        for scope in self.scopes.iter().rev() {
            for (k, v) in scope.iter().rev() {
                if !vars.iter().any(|(n, _)| n == k) {
                    vars.push((k, v.clone()));
                }
            }
        }
        Arc::new(vars)
    }

    /// A frame whose outermost scope is a snapshot; its branches are the same plan's.
    pub(super) fn from_snapshot(
        vars: Arc<Vec<(&'p str, Value)>>,
        branches: Option<Rc<Branches<'p>>>,
    ) -> Self {
        Frame {
            scopes: vec![(*vars).clone()],
            branches,
        }
    }

    pub(super) fn pop(&mut self) {
        self.scopes.pop();
    }
}
