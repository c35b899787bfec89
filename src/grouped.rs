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
    /// Group `items` by `keys[i]` (each below `n_keys`) where they lie, moving each item into
    /// its key's range by swaps: no second array of items (a `.zkey`'s terms are most of its
    /// prover's memory). The order within a key is not kept; items already in key order do not
    /// move.
    ///
    /// # Panics
    /// If the two vectors differ in length or a key is `n_keys` or more.
    pub fn in_place(n_keys: usize, mut keys: Vec<u32>, mut items: Vec<T>) -> Grouped<T> {
        assert_eq!(keys.len(), items.len(), "a key per item");
        let mut start = vec![0usize; n_keys + 1];
        for k in &keys {
            start[*k as usize + 1] += 1;
        }
        for k in 0..n_keys {
            start[k + 1] += start[k];
        }
        // American flag sort: `next[k]` is the first place of key k's range not yet settled;
        // each swap settles one item for good.
        let mut next = start.clone();
        for k in 0..n_keys {
            while next[k] < start[k + 1] {
                let i = next[k];
                let home = keys[i] as usize;
                if home == k {
                    next[k] += 1;
                } else {
                    let j = next[home];
                    keys.swap(i, j);
                    items.swap(i, j);
                    next[home] += 1;
                }
            }
        }
        Grouped { start, items }
    }

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

    #[test]
    fn grouping_in_place_gives_each_key_its_items() {
        // Pseudo-random keys, some keys empty, against the counting build.
        let n = 10_007usize;
        let keys: Vec<u32> = (0..n as u64).map(|i| ((i * 2_654_435_761) % 997) as u32 % 500).collect();
        let items: Vec<u64> = (0..n as u64).collect();
        let counted = Grouped::of(600, keys.iter().copied().zip(items.iter().copied()));
        let placed = Grouped::in_place(600, keys, items);
        assert_eq!(placed.keys(), 600);
        for k in 0..600 {
            let mut got = placed.group(k).to_vec();
            got.sort_unstable();
            assert_eq!(got, counted.group(k), "key {k}");
        }
        let empty: Grouped<u8> = Grouped::in_place(3, vec![], vec![]);
        assert!(empty.group(2).is_empty());
    }
}
