//! Tokens a model response reports, read as the response streams past (server-sent events) or
//! from its JSON body at the end. The providers' shapes differ; what they share is a `usage`
//! object (Anthropic, OpenAI) or `usageMetadata` (Gemini), sometimes repeated as a stream goes
//! on with growing counts: the largest seen counts.

use serde_json::Value;

/// Bytes of a line (or of a whole non-streamed body) looked at; anything longer is passed on
/// unread (a usage record is small; only a giant body would be longer).
const MAX_SCANNED: usize = 8 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct UsageScanner {
    pending: Vec<u8>,
    overflow: bool,
    input: u64,
    output: u64,
    total: u64,
}

impl UsageScanner {
    /// Feeds the next bytes of the response body.
    pub fn feed(&mut self, bytes: &[u8]) {
        for chunk in bytes.split_inclusive(|b| *b == b'\n') {
            if self.overflow {
                if chunk.ends_with(b"\n") {
                    self.overflow = false;
                }
                continue;
            }
            self.pending.extend_from_slice(chunk);
            if self.pending.len() > MAX_SCANNED {
                self.pending.clear();
                self.overflow = !chunk.ends_with(b"\n");
                continue;
            }
            if chunk.ends_with(b"\n") {
                let line = std::mem::take(&mut self.pending);
                self.line(&line);
            }
        }
    }

    /// The tokens counted once the body has ended.
    pub fn finish(mut self) -> Option<u64> {
        let rest = std::mem::take(&mut self.pending);
        self.line(&rest);
        let sum = self.input.saturating_add(self.output);
        let tokens = self.total.max(sum);
        (tokens > 0).then_some(tokens)
    }

    fn line(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim();
        let json = text.strip_prefix("data:").map(str::trim).unwrap_or(text);
        if !json.starts_with('{') {
            return;
        }
        if let Ok(value) = serde_json::from_str::<Value>(json) {
            self.record(&value);
        }
    }

    fn record(&mut self, value: &Value) {
        for usage in [
            value.get("usage"),
            value.pointer("/message/usage"),
            value.pointer("/response/usage"),
        ]
        .into_iter()
        .flatten()
        {
            let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
            let input = n("input_tokens")
                + n("cache_creation_input_tokens")
                + n("cache_read_input_tokens")
                + n("prompt_tokens");
            self.input = self.input.max(input);
            self.output = self.output.max(n("output_tokens") + n("completion_tokens"));
            self.total = self.total.max(n("total_tokens"));
        }
        if let Some(meta) = value.get("usageMetadata") {
            let total = meta
                .get("totalTokenCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            self.total = self.total.max(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&str]) -> Option<u64> {
        let mut s = UsageScanner::default();
        for c in chunks {
            s.feed(c.as_bytes());
        }
        s.finish()
    }

    #[test]
    fn anthropic_streams_count_input_once_and_the_last_output() {
        let stream = [
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":120,\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\nevent: message_delta\nda",
            "ta: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":42}}\n\n",
        ];
        assert_eq!(scan(&stream), Some(192));
    }

    #[test]
    fn openai_gemini_and_plain_json_bodies() {
        assert_eq!(
            scan(&[
                "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}"
            ]),
            Some(15)
        );
        assert_eq!(
            scan(&[
                "data: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}}\n\ndata: [DONE]\n"
            ]),
            Some(10)
        );
        assert_eq!(
            scan(&[
                "data: {\"usageMetadata\":{\"totalTokenCount\":4}}\r\n\r\n",
                "data: {\"usageMetadata\":{\"totalTokenCount\":9}}\r\n"
            ]),
            Some(9)
        );
        assert_eq!(scan(&["not json", "data: {broken"]), None);
    }

    #[test]
    fn a_huge_line_is_skipped_not_kept() {
        let mut s = UsageScanner::default();
        let big = vec![b'x'; MAX_SCANNED + 10];
        s.feed(&big);
        s.feed(b"still the same line\n{\"usage\":{\"total_tokens\":3}}\n");
        assert!(s.pending.is_empty());
        assert_eq!(s.finish(), Some(3));
    }
}
