//! Items grouped by a small integer key (a constraint, a signal) in compressed form: one array of
//! items and one of offsets, built by counting, instead of a vector per key. The `.zkey` prover
//! groups a key's coefficients by row, the ceremony groups them by signal.

/// Items grouped by key: key `k`'s items are `items[start[k]..start[k + 1]]`, in the order given.
pub struct Grouped<T> {
    start: Vec<usize>,
    items: Vec<T>,
}

impl<T: Copy + Default> Grouped<T> {
    /// Group `(key, item)` pairs with keys below `keys`, keeping their order within a key. The
    /// pairs are walked twice (once to count).
    pub fn of(keys: usize, pairs: impl Iterator<Item = (u32, T)> + Clone) -> Grouped<T> {
        let mut start = vec![0usize; keys + 1];
        for (k, _) in pairs.clone() {
            start[k as usize + 1] += 1;
        }
        for k in 0..keys {
            start[k + 1] += start[k];
        }
        let mut next = start.clone();
        let mut items = vec![T::default(); start[keys]];
        for (k, item) in pairs {
            items[next[k as usize]] = item;
            next[k as usize] += 1;
        }
        Grouped { start, items }
    }
}

impl<T> Grouped<T> {
    /// The number of keys.
    pub fn keys(&self) -> usize {
        self.start.len() - 1
    }

    /// Key `k`'s items.
    pub fn group(&self, k: usize) -> &[T] {
        &self.items[self.start[k]..self.start[k + 1]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keep_their_order_and_empty_keys_are_empty() {
        let pairs = [(2u32, 'a'), (0, 'b'), (2, 'c'), (3, 'd'), (0, 'e')];
        let g = Grouped::of(5, pairs.iter().copied());
        assert_eq!(g.keys(), 5);
        assert_eq!(g.group(0), ['b', 'e']);
        assert!(g.group(1).is_empty() && g.group(4).is_empty());
        assert_eq!(g.group(2), ['a', 'c']);
        assert_eq!(g.group(3), ['d']);
    }
}
