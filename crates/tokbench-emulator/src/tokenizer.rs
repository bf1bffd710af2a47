//! The emulator's tokenizer: one token per whitespace-separated word.
//!
//! A "word" is a maximal run of non-whitespace characters (Unicode
//! whitespace, as [`str::split_whitespace`]). Token ids are a stable 32-bit
//! FNV-1a hash of the word folded into a 32 000-entry vocabulary, so the same
//! word always gets the same id. The rule is deliberately simple so that
//! clients (and their tests) can predict prompt token counts exactly.
//!
//! In deterministic-text mode `/tokenize` uses [`tokenize_text_mode`]
//! instead: the same words, but generated tokens keep their stream ids.

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

/// Token ids of `text` in deterministic-text mode
/// ([`crate::EmulatorConfig::text_seed`]): one per whitespace-separated
/// word, a word that is exactly a generated token (`w17`, `日7`, `é15`)
/// getting that token's id, so the tokenization of generated text matches
/// the ids in its stream; see [`crate::text::text_token_id`].
pub fn tokenize_text_mode(text: &str) -> Vec<u32> {
    text.split_whitespace()
        .map(crate::text::text_token_id)
        .collect()
}

/// Stable id of one word (FNV-1a, folded into the vocabulary).
fn token_id(word: &str) -> u32 {
    fnv1a32(word) % VOCAB_SIZE
}

/// 32-bit FNV-1a of `word`'s bytes.
pub(crate) fn fnv1a32(word: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in word.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
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
