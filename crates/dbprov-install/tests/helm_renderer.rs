//! The test Helm renderer follows Go template semantics on the constructs the chart uses, and rejects the rest.

mod support;

use serde_json::Value;
use support::helm::render;

fn root() -> Value {
    serde_json::json!({
        "Values": { "list": ["a", "b"], "empty": [], "flag": false, "map": { "k": "v" }, "n": 3 },
        "Release": { "Namespace": "ns" },
    })
}

#[test]
fn trimming_conditionals_and_ranges_follow_go() {
    let source = "a:\n  {{- if .Values.flag }}\n  x: 1\n  {{- else }}\n  y: 2\n  {{- end }}\n\
                  {{- range $item := append .Values.list \"a\" | uniq }}\n- {{ $item }} {{ $.Release.Namespace }}\n{{- end }}\n";
    assert_eq!(
        render(source, &root()).expect("renders"),
        "a:\n  y: 2\n- a ns\n- b ns\n"
    );
}

#[test]
fn with_and_to_yaml_indent_blocks() {
    let source = "spec:\n  {{- with .Values.map }}\n  m:\n    {{- toYaml . | nindent 4 }}\n  {{- end }}\n  \
                  {{- with .Values.empty }}\n  e: {{ . }}\n  {{- end }}\n";
    assert_eq!(
        render(source, &root()).expect("renders"),
        "spec:\n  m:\n    k: v\n"
    );
}

#[test]
fn errors_are_reported_not_ignored() {
    assert!(render("{{ .Values.missing.deeper }}", &root()).is_err());
    assert!(
        render(
            "{{ range .Values.list }}{{ .Release.Namespace }}{{ end }}",
            &root()
        )
        .is_err()
    );
    assert!(render("{{ include \"x\" . }}", &root()).is_err());
    assert!(render("{{ sha256sum .Values.n }}", &root()).is_err());
    assert!(render("{{ if .Values.flag }}", &root()).is_err());
    let error = render(
        "{{- if gt (int .Values.n) 1 }}{{ fail \"too many\" }}{{ end }}",
        &root(),
    )
    .expect_err("fails");
    assert!(error.contains("too many"), "{error}");
}

#[test]
fn values_print_like_helm() {
    assert_eq!(
        render("{{ .Values.n }} {{ .Values.nothing }} {{ join \",\" .Values.list | quote }} {{ .Values.x | default \"d\" }}", &root())
            .expect("renders"),
        "3  \"a,b\" d"
    );
}
