#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn vals(text: &str) -> Vec<String> {
    parse_values(text).unwrap()
}

fn err(text: &str) -> String {
    parse_values(text).unwrap_err().to_string()
}

#[test]
fn comma_lists_are_kept_verbatim_and_trimmed() {
    assert_eq!(vals("on,off"), ["on", "off"]);
    assert_eq!(vals("f16, q8_0 ,q4_0"), ["f16", "q8_0", "q4_0"]);
    assert_eq!(vals("4"), ["4"]);
    assert_eq!(vals("-1,0"), ["-1", "0"]);
    assert_eq!(vals("mmap+mlock,auto"), ["mmap+mlock", "auto"]);
    assert_eq!(vals("0.60,0.75"), ["0.60", "0.75"]);
}

#[test]
fn additive_ranges() {
    assert_eq!(vals("1-8+1"), ["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert_eq!(vals("1-8+3"), ["1", "4", "7"]);
    assert_eq!(vals("1-4"), ["1", "2", "3", "4"]);
    assert_eq!(vals("5-5+1"), ["5"]);
    assert_eq!(vals("0-1000+250"), ["0", "250", "500", "750", "1000"]);
}

#[test]
fn decimal_ranges_have_no_accumulation_error() {
    assert_eq!(vals("0.5-0.7+0.1"), ["0.5", "0.6", "0.7"]);
    assert_eq!(vals("0.1-0.3+0.1"), ["0.1", "0.2", "0.3"]);
    assert_eq!(vals("0.60-0.75+0.05"), ["0.60", "0.65", "0.70", "0.75"]);
    assert_eq!(vals("1-2+0.25"), ["1.00", "1.25", "1.50", "1.75", "2.00"]);
    assert_eq!(vals("0.5-0.75+0.1"), ["0.5", "0.6", "0.7"]);
    let many = vals("0-1+0.01");
    assert_eq!(many.len(), 101);
    assert_eq!(many[33], "0.33");
    assert_eq!(many[100], "1.00");
}

#[test]
fn multiplicative_ranges() {
    assert_eq!(vals("16-512*2"), ["16", "32", "64", "128", "256", "512"]);
    assert_eq!(vals("1-100*10"), ["1", "10", "100"]);
    assert_eq!(vals("3-20*2"), ["3", "6", "12"]);
}

#[test]
fn ranges_mix_with_plain_items() {
    assert_eq!(vals("1-3+1,8,16-32*2"), ["1", "2", "3", "8", "16", "32"]);
}

#[test]
fn range_errors_name_the_item() {
    assert_eq!(err("1,8-1+1"), "\"8-1+1\": the range ends before it starts");
    assert!(err("1-8+0").starts_with("\"1-8+0\": the step must be greater than 0"));
    assert!(err("16-512*1").starts_with("\"16-512*1\": the factor must be at least 2"));
    assert!(err("0-512*2").contains("\"0-512*2\""));
    assert!(err("1.5-8*2").contains("integers only"));
    assert!(err("512-16*2").contains("ends before it starts"));
    let e = err("1-8x+1");
    assert!(e.starts_with("\"1-8x+1\": the end \"8x\""), "{e}");
    assert_eq!(
        vals("1-x+1"),
        ["1-x+1"],
        "no digit after the minus: verbatim"
    );
    let e = err("1-8+y");
    assert!(e.contains("step \"y\""), "{e}");
}

#[test]
fn empty_items_duplicates_and_size_are_errors() {
    assert!(err("1,,2").contains("empty item"));
    assert!(err("1,2,").contains("empty item"));
    assert!(err("").contains("empty item"));
    assert_eq!(
        err("1-4+1,2"),
        "\"2\": the value \"2\" is already in the list"
    );
    assert!(err("on,on").contains("\"on\""));
    let e = err("1-5000+1");
    assert!(e.starts_with("\"1-5000+1\": more than 1000 values"), "{e}");
    assert!(parse_values("1-1000+1").is_ok());
    assert!(err("1-600+1,601-1200+1").contains("more than 1000"));
}

#[test]
fn set_arguments() {
    let (name, values) = parse_set("batch-size=64,512").unwrap();
    assert_eq!(name, "batch-size");
    assert_eq!(values, ["64", "512"]);
    assert_eq!(parse_set("n_gpu=1-2").unwrap().1, ["1", "2"]);
    let e = parse_set("threads").unwrap_err().to_string();
    assert!(
        e.starts_with("--set \"threads\": expected NAME=LIST"),
        "{e}"
    );
    let e = parse_set("=1,2").unwrap_err().to_string();
    assert!(e.contains("name is empty"), "{e}");
    let e = parse_set("Threads=1").unwrap_err().to_string();
    assert!(e.contains("\"Threads\"") && e.contains("a-z"), "{e}");
    let e = parse_set("threads=").unwrap_err().to_string();
    assert!(e.contains("empty item"), "{e}");
    let e = parse_set("threads=4-1+1").unwrap_err().to_string();
    assert!(e.contains("\"4-1+1\""), "{e}");
}
