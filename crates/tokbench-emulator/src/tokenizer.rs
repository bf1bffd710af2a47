//! The emulator's tokenizer: one token per whitespace-separated word.
//!
//! A "word" is a maximal run of non-whitespace characters (Unicode
//! whitespace, as [`str::split_whitespace`]). Token ids are a stable 32-bit
//! FNV-1a hash of the word folded into a 32 000-entry vocabulary, so the same
//! word always gets the same id. The rule is deliberately simple so that
//! clients (and their tests) can predict prompt token counts exactly.

/// Size of the emulated vocabulary; every id is below this.
pub const VOCAB_SIZE: u32 = 32_000;

/// Number of tokens in `text`: its whitespace-separated words.
pub fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Token ids of `text`, one per whitespace-separated word, each below
/// [`VOCAB_SIZE`].
pub fn tokenize(text: &str) -> Vec<u32> {
    text.split_whitespace().map(token_id).collect()
}

/// Stable id of one word (FNV-1a, folded into the vocabulary).
fn token_id(word: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in word.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % VOCAB_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_words_across_any_whitespace() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("   \n\t "), 0);
        assert_eq!(count_tokens("hello"), 1);
        assert_eq!(count_tokens("  hello,   world!\nhow\tare you  "), 5);
        assert_eq!(count_tokens("日本語 テキスト"), 2);
    }

    #[test]
    fn ids_are_stable_and_in_vocabulary() {
        let ids = tokenize("the cat sat on the mat");
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[0], ids[4], "same word, same id");
        assert_ne!(ids[1], ids[2]);
        assert!(ids.iter().all(|&id| id < VOCAB_SIZE));
        assert_eq!(tokenize("the cat sat on the mat"), ids);
        assert_eq!(tokenize("a b c").len() as u64, count_tokens("a b c"));
    }
}
