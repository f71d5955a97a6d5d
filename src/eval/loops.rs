//! Loops: sequential `foreach`, its `parallel`/`serial` forms with
//! `max_failures`, and `parallelize`.

use std::sync::Arc;

use super::args::Args;
use super::{Eval, Flow, Frame, Interpreter};
use crate::syntax::ast::{Call, Count, Foreach, LoopMode, Span, Spanned};
use crate::value::{ErrorValue, Hash, Value, types};

impl<'p> Interpreter<'p> {
    pub(super) async fn foreach(
        &self,
        frame: &mut Frame<'p>,
        f: &'p Foreach,
        span: Span,
    ) -> Eval<()> {
        let items: Vec<(Value, Value)> = match self.expr(frame, &f.iterable).await? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Hash(h) => h.iter().map(|(k, v)| (Value::str(k), v.clone())).collect(),
            Value::ResultSet(rs) => rs
                .iter()
                .enumerate()
                .map(|(i, r)| (Value::Int(i as i64), Value::Result(r.clone())))
                .collect(),
            Value::Undef => Vec::new(),
            other => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`foreach` needs an Array or a Hash, got {}",
                        types::describe(&other)
                    ),
                    f.iterable.span,
                ));
            }
        };
        if f.mode.is_concurrent() {
            return self.foreach_concurrent(frame, f, items, span).await;
        }
        for (key, value) in items {
            frame.push();
            if let Some(k) = &f.key {
                frame.declare(&k.node, key);
            }
            frame.declare(&f.value.node, value);
            let result = self.block(frame, &f.body).await;
            frame.pop();
            match result {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// A loop count: an Integer of at least `min`, or a percentage of `len`
    /// rounded up (at least 1).
    pub(super) async fn count(
        &self,
        frame: &mut Frame<'p>,
        count: &'p Spanned<Count>,
        len: usize,
        min: i64,
    ) -> Eval<usize> {
        match &count.node {
            Count::Percent(p) => Ok(((len * *p as usize).div_ceil(100)).max(min as usize)),
            Count::Expr(e) => match self.value(frame, e).await? {
                Value::Int(n) if n >= min => Ok(n as usize),
                other => Err(self.error(
                    "drover/type-error",
                    format!(
                        "a loop count must be an Integer of at least {min}, got {}",
                        types::describe(&other)
                    ),
                    count.span,
                )),
            },
        }
    }

    /// `parallel` (a sliding window) and `serial` (batches) loops. Every
    /// iteration runs on a snapshot of the variables; after more than
    /// `max_failures` failures no iteration starts, those running finish,
    /// and `drover/loop-failure` names every failed element.
    pub(super) async fn foreach_concurrent(
        &self,
        frame: &mut Frame<'p>,
        f: &'p Foreach,
        items: Vec<(Value, Value)>,
        span: Span,
    ) -> Eval<()> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let len = items.len();
        let (window, batches) = match &f.mode {
            LoopMode::Parallel(None) => (len.max(1), false),
            LoopMode::Parallel(Some(c)) => (self.count(frame, c, len, 1).await?, false),
            LoopMode::Serial(c) => (self.count(frame, c, len, 1).await?, true),
            LoopMode::Sequential => unreachable!("sequential loops do not come here"),
        };
        let tolerated = match &f.max_failures {
            Some(c) => self.count(frame, c, len, 0).await?,
            None => 0,
        };
        let snapshot = frame.snapshot();
        let frame_branches = frame.branches.clone();
        let iteration = |index: usize, key: Value, value: Value| {
            let mut own = Frame::from_snapshot(snapshot.clone(), frame_branches.clone());
            async move {
                own.push();
                if let Some(k) = &f.key {
                    own.declare(&k.node, key);
                }
                own.declare(&f.value.node, value.clone());
                let result = self.block(&mut own, &f.body).await;
                (index, value, result)
            }
        };
        let mut failures: Vec<(usize, Value, Box<ErrorValue>)> = Vec::new();
        let mut pending = items.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        // `return` ends an iteration; break/continue are check errors here.
        let record = |done: (usize, Value, Eval<()>), failures: &mut Vec<_>| {
            if let Err(Flow::Error(e)) = done.2 {
                failures.push((done.0, done.1, e));
            }
        };
        let mut batch = 0;
        loop {
            // Start what the window or the batch allows, unless too much failed.
            if failures.len() <= tolerated && (!batches || running.is_empty()) {
                while running.len() < window {
                    let Some((i, (k, v))) = pending.next() else {
                        break;
                    };
                    running.push(iteration(i, k, v));
                }
                if batches && !running.is_empty() {
                    batch += 1;
                    let location = self.program.location(span);
                    self.events.batch(&location, batch, running.len());
                }
            }
            match running.next().await {
                Some(done) => record(done, &mut failures),
                None => break,
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        failures.sort_by_key(|(i, _, _)| *i);
        let location = self.program.location(span);
        if failures.len() <= tolerated {
            for (_, value, e) in &failures {
                self.events.log(
                    "warn",
                    &format!(
                        "{} failed (tolerated): {}",
                        value.to_display(),
                        e.cause().message
                    ),
                    &location,
                );
            }
            return Ok(());
        }
        let never_started = pending.len();
        let mut e = ErrorValue::new(
            "drover/loop-failure",
            format!(
                "{} of {len} iterations failed (max_failures {tolerated}); {never_started} never started",
                failures.len()
            ),
        );
        e.location = location;
        e.span = Some(span);
        e.details.insert(
            "failed".into(),
            Value::array(
                failures
                    .into_iter()
                    .map(|(i, value, err)| {
                        let mut h = Hash::new();
                        h.insert("index".into(), Value::Int(i as i64));
                        h.insert("element".into(), value);
                        h.insert("error".into(), Value::Error(Arc::new(*err)));
                        Value::hash(h)
                    })
                    .collect(),
            ),
        );
        e.details
            .insert("never_started".into(), Value::Int(never_started as i64));
        Err(Flow::Error(Box::new(e)))
    }

    /// `parallelize(items, max => N) |$x| { ... }`: the lambda's values in
    /// input order; when any element fails, the others finish and
    /// `drover/parallel-failure` names the failed indices.
    pub(crate) async fn parallelize(
        &self,
        frame: &mut Frame<'p>,
        call: &'p Call,
        args: Args,
        span: Span,
    ) -> Eval<Value> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let Some(lambda) = &call.lambda else {
            return Err(self.error("drover/type-error", "`parallelize` needs a lambda", span));
        };
        let items: Vec<Value> = match args.positional.first() {
            Some((Value::Array(a), _)) => a.to_vec(),
            Some((Value::ResultSet(rs), _)) => {
                rs.iter().map(|r| Value::Result(r.clone())).collect()
            }
            Some((other, s)) => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`parallelize` needs an Array, got {}",
                        types::describe(other)
                    ),
                    *s,
                ));
            }
            None => {
                return Err(self.error("drover/type-error", "`parallelize` needs an Array", span));
            }
        };
        let max = match args.named.get("max") {
            None => items.len().max(1),
            Some((Value::Int(n), _)) if *n >= 1 => *n as usize,
            Some((other, s)) => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`max` must be an Integer of at least 1, got {}",
                        types::describe(other)
                    ),
                    *s,
                ));
            }
        };
        let snapshot = frame.snapshot();
        let frame_branches = frame.branches.clone();
        let mut results: Vec<Option<Eval<Value>>> = (0..items.len()).map(|_| None).collect();
        let mut pending = items.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < max {
                let Some((i, item)) = pending.next() else {
                    break;
                };
                let mut own = Frame::from_snapshot(snapshot.clone(), frame_branches.clone());
                running
                    .push(async move { (i, self.call_lambda(&mut own, lambda, vec![item]).await) });
            }
            match running.next().await {
                Some((i, r)) => results[i] = Some(r),
                None => break,
            }
        }
        let mut values = Vec::with_capacity(results.len());
        let mut failed = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r.expect("every element ran") {
                Ok(v) => values.push(v),
                Err(Flow::Error(e)) => {
                    values.push(Value::Undef);
                    failed.push((i, e));
                }
                Err(_) => values.push(Value::Undef),
            }
        }
        if failed.is_empty() {
            return Ok(Value::array(values));
        }
        let mut e = ErrorValue::new(
            "drover/parallel-failure",
            format!(
                "{} of {} parallelize elements failed",
                failed.len(),
                values.len()
            ),
        );
        e.location = self.program.location(span);
        e.span = Some(span);
        e.details.insert(
            "failed".into(),
            Value::array(failed.iter().map(|(i, _)| Value::Int(*i as i64)).collect()),
        );
        e.details.insert(
            "errors".into(),
            Value::array(
                failed
                    .into_iter()
                    .map(|(_, err)| Value::Error(Arc::new(*err)))
                    .collect(),
            ),
        );
        Err(Flow::Error(Box::new(e)))
    }
}
