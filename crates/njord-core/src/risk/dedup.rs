//! A bounded window of intent ids already allowed, for `duplicate_intent`. Memory stays
//! bounded on an endless stream: past `capacity` ids the oldest is forgotten (the Redis key,
//! when configured, covers the longer horizon).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct DedupWindow {
    set: HashSet<Arc<str>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl DedupWindow {
    pub fn new(capacity: usize) -> Self {
        DedupWindow {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// Remembers `id`, forgetting the oldest id when full. Inserting a known id is a no-op.
    pub fn insert(&mut self, id: &str) {
        if self.set.contains(id) {
            return;
        }
        if self.order.len() >= self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        let id: Arc<str> = Arc::from(id);
        self.set.insert(id.clone());
        self.order.push_back(id);
    }

    /// The `n` oldest ids: those `n` insertions may push out.
    pub fn oldest(&self, n: usize) -> Vec<Arc<str>> {
        self.order.iter().take(n).cloned().collect()
    }

    /// Puts back, oldest first, the ids of [`oldest`](Self::oldest) pushed out since, once
    /// [`forget`](Self::forget) has made room: the window is as before the insertions.
    pub fn restore(&mut self, oldest: Vec<Arc<str>>) {
        for id in oldest.into_iter().rev() {
            if self.order.len() < self.capacity && !self.set.contains(&id) {
                self.set.insert(id.clone());
                self.order.push_front(id);
            }
        }
    }

    /// Forgets `id` (a group leg allowed, then undone).
    pub fn forget(&mut self, id: &str) {
        if self.set.remove(id)
            && let Some(k) = self.order.iter().rposition(|o| o.as_ref() == id)
        {
            self.order.remove(k);
        }
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_oldest_first() {
        let mut w = DedupWindow::new(2);
        w.insert("a");
        w.insert("b");
        w.insert("a");
        assert_eq!(w.len(), 2);
        w.insert("c");
        assert!(!w.contains("a") && w.contains("b") && w.contains("c"));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn insertions_undone_leave_the_window_as_it_was() {
        let mut w = DedupWindow::new(3);
        for id in ["a", "b", "c"] {
            w.insert(id);
        }
        let oldest = w.oldest(2);
        w.insert("x");
        w.insert("y");
        assert!(!w.contains("a") && !w.contains("b"));
        w.forget("x");
        w.forget("y");
        w.restore(oldest);
        assert_eq!(
            w.order.iter().map(|s| s.as_ref()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        assert!(w.contains("a") && w.contains("b") && !w.contains("x"));
    }
}
