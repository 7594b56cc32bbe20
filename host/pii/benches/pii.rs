//! PII filter throughput, each beside its baseline in the same run:
//!
//! - `tokenize/connector`: tokenizing the personal fields of realistic device records (names,
//!   owners, user names, emails, phone numbers as UEMs spell them), against `tokenize/raw-cipher`:
//!   a bare AES-256-GCM-SIV encryption of the same strings.
//! - `restore/{json,html}`: restoring a 1 MiB body with one token per ~200 bytes, pushed in
//!   16 KiB chunks as a proxy would, against `restore/{json,html}-memchr`: a plain memmem scan
//!   of the same body for the token prefix.
//!
//! `cargo bench -p connector-pii --bench pii`; figures are in docs/benchmarks.md.

use std::hint::black_box;
use std::sync::Arc;

use aes_gcm_siv::aead::AeadInOut;
use aes_gcm_siv::{Aes256GcmSiv, KeyInit, Nonce};
use connector_pii::canonical::Canonicalizer;
use connector_pii::keyring::Keyring;
use connector_pii::restore::{Context, Restorer};
use connector_pii::token::{KeyId, PREFIX};
use connector_pii::{Kind, Tokenizer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const FIRST: [&str; 8] = ["Alice", "Bob", "Chidi", "Dagny", "Eun-ji", "Fatima", "Gustavo", "Hélène"];
const LAST: [&str; 8] = ["Smith", "Okafor", "Nakamura", "Schmidt", "García", "O'Neil", "Kowalski", "Dubois"];
const MODELS: [&str; 4] = ["iPhone", "Galaxy S24", "Pixel 9", "iPad Pro"];

/// The personal fields of `n` devices: device name, owner, user name, email, phone.
fn device_fields(n: usize) -> Vec<(Kind, String)> {
    let mut fields = Vec::with_capacity(n * 5);
    for i in 0..n {
        let (first, last) = (FIRST[i % 8], LAST[(i / 8) % 8]);
        fields.push((Kind::DeviceName, format!("{first}'s {}", MODELS[i % 4])));
        fields.push((Kind::PersonName, format!("{first} {last}")));
        fields.push((Kind::UserName, format!("{}{}{i}", &first[..1].to_lowercase(), last.to_lowercase())));
        fields.push((Kind::Email, format!("{first}.{last}{i}@Example.com")));
        fields.push((Kind::Phone, format!("+1 415 555 {:04}", i % 10_000)));
    }
    fields
}

fn tokenizer() -> Tokenizer {
    Tokenizer::new(Keyring::from_secret(KeyId(0x2a2a), [42; 32]), Canonicalizer::new(None))
}

fn tokenize(c: &mut Criterion) {
    let fields = device_fields(200);
    let tokenizer = tokenizer();
    let cipher = Aes256GcmSiv::new(&[42u8; 32].into());
    let mut group = c.benchmark_group("tokenize");
    group.throughput(Throughput::Elements(fields.len() as u64));
    group.bench_function("connector", |b| {
        b.iter(|| {
            for (kind, value) in &fields {
                black_box(tokenizer.tokenize(*kind, value).expect("tokenize"));
            }
        })
    });
    group.bench_function("raw-cipher", |b| {
        b.iter(|| {
            for (_, value) in &fields {
                let mut buf = value.as_bytes().to_vec();
                let tag = cipher
                    .encrypt_inout_detached(&Nonce::default(), b"aad", buf.as_mut_slice().into())
                    .expect("encrypt");
                black_box((buf, tag));
            }
        })
    });
    group.finish();
}

/// A 1 MiB body of `kind` with one token per ~200 bytes, drawn from 500 devices (a dashboard
/// shows the same devices again and again).
fn body(tokenizer: &Tokenizer, html: bool) -> Vec<u8> {
    let fields = device_fields(100);
    let tokens: Vec<String> = fields.iter().map(|(k, v)| tokenizer.tokenize(*k, v).expect("tokenize")).collect();
    let mut body = Vec::with_capacity(1 << 20);
    let mut i = 0;
    while body.len() < 1 << 20 {
        let token = &tokens[(i * 7) % tokens.len()];
        let record = if html {
            format!(
                "<tr class=\"device-row\" data-id=\"{i}\"><td class=\"name\"><a href=\"/devices/{i}\" title=\"Open device\">{token}</a></td><td>iOS 18.1</td><td class=\"risk high\">High</td></tr>\n"
            )
        } else {
            format!(
                "{{\"id\":\"dev-{i:06}\",\"name\":\"{token}\",\"platform\":\"ios\",\"osVersion\":\"18.1\",\"risk\":\"high\",\"lastSeen\":1763000000000,\"compliant\":false}},"
            )
        };
        body.extend_from_slice(record.as_bytes());
        i += 1;
    }
    body
}

fn restore(c: &mut Criterion) {
    let tokenizer = Arc::new(tokenizer());
    for (name, html) in [("json", false), ("html", true)] {
        let body = body(&tokenizer, html);
        let tokens = memchr::memmem::find_iter(&body, PREFIX).count();
        let context = if html { Context::Html } else { Context::JsonString };
        eprintln!("restore/{name}: {} bytes, {tokens} tokens (one per {} bytes)", body.len(), body.len() / tokens);
        let mut group = c.benchmark_group("restore");
        group.throughput(Throughput::Bytes(body.len() as u64));
        let mut out = Vec::with_capacity(body.len() * 2);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let mut restorer = Restorer::new(tokenizer.clone(), context);
                for chunk in body.chunks(16 * 1024) {
                    restorer.push(chunk, &mut out);
                }
                black_box(restorer.finish(&mut out));
            })
        });
        group.bench_function(format!("{name}-memchr"), |b| {
            b.iter(|| black_box(memchr::memmem::find_iter(black_box(&body), PREFIX).count()))
        });
        group.finish();
    }
}

criterion_group!(benches, tokenize, restore);
criterion_main!(benches);
