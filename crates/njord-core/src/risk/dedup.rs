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

    /// Forgets `id` (a group leg allowed, then undone). An id its insertion pushed out stays
    /// forgotten.
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
}
