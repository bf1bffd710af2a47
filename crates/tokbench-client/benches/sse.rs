//! Throughput of the SSE parse + timestamp path (`StreamRecorder::on_chunk`)
//! on llama-server-style chunk bytes: one `chat.completion.chunk` event per
//! network chunk, as llama.cpp's server sends them, with a final chunk
//! carrying `timings` and a usage-only chunk.
//!
//! Bar (issue 2): at least 500,000 chunks/s on one core.
//! Run: `cargo bench -p tokbench-client --bench sse`.

#![allow(clippy::expect_used)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tokbench_client::recorder::StreamRecorder;
use tokbench_client::sse::DEFAULT_MAX_LINE_BYTES;
use tokbench_stats::RequestSample;

const WORDS: &[&str] = &[
    " the",
    " model",
    " runs",
    " fast",
    " on",
    " this",
    " 日本",
    " é",
    "\\n",
    " \\\"quoted\\\"",
];

/// Builds the network chunks of one llama-server chat stream of `n` tokens.
fn llama_server_stream(n: usize) -> Vec<Vec<u8>> {
    let head = r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"#;
    let tail = r#"}}],"created":1763800000,"id":"chatcmpl-5Xq2lXbqS2Zb1Yt6kJm3","model":"smollm2-135m-instruct-q4_1.gguf","system_fingerprint":"b7100-0a1b2c3d","object":"chat.completion.chunk"}"#;
    let mut chunks = Vec::with_capacity(n + 4);
    chunks.push(
        format!("data: {head}\"role\":\"assistant\",\"content\":null{tail}\n\n").into_bytes(),
    );
    for i in 0..n {
        let w = WORDS[i % WORDS.len()];
        chunks.push(format!("data: {head}\"content\":\"{w}\"{tail}\n\n").into_bytes());
    }
    chunks.push(format!("data: {{\"choices\":[{{\"finish_reason\":\"length\",\"index\":0,\"delta\":{{}}}}],\"created\":1763800000,\"id\":\"chatcmpl-5Xq2\",\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"timings\":{{\"prompt_n\":200,\"prompt_ms\":180.2,\"prompt_per_token_ms\":0.9,\"prompt_per_second\":1109.8,\"predicted_n\":{n},\"predicted_ms\":5120.0,\"predicted_per_token_ms\":20.0,\"predicted_per_second\":50.0}}}}\n\n").into_bytes());
    chunks.push(format!("data: {{\"choices\":[],\"created\":1763800000,\"id\":\"chatcmpl-5Xq2\",\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":{{\"completion_tokens\":{n},\"prompt_tokens\":200,\"total_tokens\":{}}}}}\n\n", n + 200).into_bytes());
    chunks.push(b"data: [DONE]\n\n".to_vec());
    chunks
}

fn bench(c: &mut Criterion) {
    let chunks = llama_server_stream(1024);
    let mut group = c.benchmark_group("sse_timing_path");
    group.throughput(Throughput::Elements(chunks.len() as u64));
    group.bench_function("llama_server_chat_1024_tokens", |b| {
        b.iter(|| {
            let mut recorder = StreamRecorder::new(DEFAULT_MAX_LINE_BYTES);
            let mut sample = RequestSample::new(0, false, 0, 0);
            sample.events.reserve(1024);
            let start = std::time::Instant::now();
            for chunk in &chunks {
                let t = start.elapsed().as_micros() as u32;
                recorder
                    .on_chunk(t, black_box(chunk), &mut sample)
                    .expect("valid stream");
            }
            black_box(sample.events.len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
