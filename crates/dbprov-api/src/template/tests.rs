//! Template parsing and rendering, with upstream's test vectors.

use dbprov_core::{EngineKind, Secret};

use crate::template::{DsnOptions, Template, TemplateData, default_secret_data};

fn data() -> TemplateData {
    TemplateData {
        username: "admin".into(),
        password: Secret::new("p@ss!w0rd"),
        host: "db.example.com".into(),
        port: 5432,
        database: "mydb".into(),
        ssl_mode: String::new(),
        namespace: "apps".into(),
        name: "admin-user".into(),
        ca: "-----BEGIN CERTIFICATE-----".into(),
        tls_cert: String::new(),
        tls_key: Secret::default(),
    }
}

fn render(source: &str) -> String {
    Template::parse(source)
        .unwrap_or_else(|error| panic!("{source:?} parses: {error}"))
        .render(&data())
        .unwrap_or_else(|error| panic!("{source:?} renders: {error}"))
        .expose()
        .to_owned()
}

fn parse_error(source: &str) -> String {
    Template::parse(source).expect_err("must be rejected").to_string()
}

#[test]
fn upstream_worked_example() {
    assert_eq!(
        render(
            "postgresql://{{ urlEncode .Username }}:{{ urlEncode .Password }}@{{ .Host }}:{{ .Port }}/{{ .Database }}?sslmode={{ default \"prefer\" .SSLMode }}"
        ),
        "postgresql://admin:p%40ss%21w0rd@db.example.com:5432/mydb?sslmode=prefer"
    );
}

#[test]
fn upstream_function_vectors() {
    let cases = [
        (r#"{{ urlEncode "p@ss!w0rd" }}"#, "p%40ss%21w0rd"),
        (r#"{{ urlEncode "hello world" }}"#, "hello+world"),
        (r#"{{ urlEncode "日本語" }}"#, "%E6%97%A5%E6%9C%AC%E8%AA%9E"),
        (r#"{{ urlEncode "" }}"#, ""),
        (r#"{{ urlPathEncode "my/db" }}"#, "my%2Fdb"),
        (r#"{{ urlPathEncode "my db?q=1" }}"#, "my%20db%3Fq=1"),
        (r#"{{ base64Encode "hello" }}"#, "aGVsbG8="),
        (r#"{{ base64Encode "\x00\x01" }}"#, "AAE="),
        (r#"{{ base64Decode "aGVsbG8=" }}"#, "hello"),
        (r#"{{ upper "ñandú" }}"#, "ÑANDÚ"),
        (r#"{{ lower "ÀB" }}"#, "àb"),
        (r#"{{ title "hello world" }}"#, "Hello world"),
        (r#"{{ title "ñoño" }}"#, "Ñoño"),
        (r#"{{ title "" }}"#, ""),
        (r#"{{ trim "  x \n" }}"#, "x"),
        (r#"{{ trimPrefix .Host "db." }}"#, "example.com"),
        (r#"{{ trimSuffix .Host ".com" }}"#, "db.example"),
        (r#"{{ replace "abc" "" "-" }}"#, "-a-b-c-"),
        (r#"{{ replace .Host "." "_" }}"#, "db_example_com"),
        (r#"{{ quote "\x00\t\n" }}"#, r#""\u0000\t\n""#),
        (r#"{{ quote "<a & b>" }}"#, r#""\u003ca \u0026 b\u003e""#),
        (r#"{{ quote "say \"hi\"" }}"#, r#""say \"hi\"""#),
        (r#"{{ squote "it's" }}"#, r#"'it'\''s'"#),
        (r#"{{ .SSLMode | default "prefer" }}"#, "prefer"),
        (r#"{{ default "x" .Username }}"#, "admin"),
        (r#"{{ toJson nil }}"#, "null"),
        (r#"{{ toJson .Port }}"#, "5432"),
        (r#"{{ toJson .Username }}"#, r#""admin""#),
    ];
    for (source, expected) in cases {
        assert_eq!(render(source), expected, "{source}");
    }
    let error = Template::parse(r#"{{ base64Decode "aGVsbG8" }}"#)
        .expect("parses")
        .render(&data())
        .expect_err("unpadded input is rejected, as Go's StdEncoding does");
    assert!(error.message.contains("base64Decode"), "{error}");
}

#[test]
fn pipelines_calls_and_parentheses() {
    assert_eq!(render("{{ .Username | upper | quote }}"), r#""ADMIN""#);
    assert_eq!(render("{{ upper (trimPrefix .Host \"db.\") }}"), "EXAMPLE.COM");
    assert_eq!(
        render("{{ printf \"%s:%d\" .Host .Port }}"),
        "db.example.com:5432"
    );
    assert_eq!(
        render("{{ print .Port .Port }}|{{ print .Host .Port }}"),
        "5432 5432|db.example.com5432"
    );
    assert_eq!(render("{{ len .Username }}"), "5");
    assert_eq!(render("{{ urlquery .Password }}"), "p%40ss%21w0rd");
    assert_eq!(render("{{ `raw \\n` }}"), "raw \\n");
    assert!(
        render("{{ toJson . }}")
            .starts_with(r#"{"Username":"admin","Password":"p@ss!w0rd","Host":"db.example.com","Port":5432"#)
    );
}

#[test]
fn control_structures_and_trim_markers() {
    assert_eq!(render("a  {{- .Username -}}  b"), "aadminb");
    assert_eq!(render("a {{/* comment */}} b"), "a  b");
    assert_eq!(render("a {{- /* comment */ -}} b"), "ab");
    assert_eq!(render("{{ if .SSLMode }}?sslmode={{ .SSLMode }}{{ end }}"), "");
    assert_eq!(
        render("{{ if eq .Port 5432 }}pg{{ else if eq .Port 3306 }}my{{ else }}?{{ end }}"),
        "pg"
    );
    assert_eq!(render("{{ if not .SSLMode }}none{{ else }}some{{ end }}"), "none");
    assert_eq!(
        render("{{ with .CA }}ca={{ . }}{{ else }}no ca{{ end }}"),
        "ca=-----BEGIN CERTIFICATE-----"
    );
    assert_eq!(
        render("{{ with .TLSCert }}{{ . }}{{ else }}no cert{{ end }}"),
        "no cert"
    );
    assert_eq!(
        render("{{ if and .Username .Host }}both{{ end }}{{ or .SSLMode \"x\" }}"),
        "bothx"
    );
    assert_eq!(render("line1\n{{- \"\" }}\nline2"), "line1\nline2");
}

#[test]
fn unknown_variables_and_functions_fail_at_parse_time() {
    assert!(parse_error("{{ .Pasword }}").contains("unknown variable .Pasword (available: .Username"));
    assert!(parse_error("{{ b64enc .Password }}").contains("function \"b64enc\" not defined"));
    assert!(parse_error("{{ toJSON .Password }}").contains("not defined"));
    assert!(parse_error("{{ .Username.Foo }}").contains("can't evaluate field Foo in type string"));
    assert!(
        parse_error("{{ with .Host }}{{ .Username }}{{ end }}").contains("can't evaluate field Username")
    );
}

#[test]
fn type_errors_fail_at_parse_time() {
    assert!(parse_error("{{ urlEncode .Port }}").contains("expected string; got int"));
    assert!(parse_error("{{ default \"5432\" .Port }}").contains("expected string; got int"));
    assert!(parse_error("{{ .Port | upper }}").contains("expected string; got int"));
    assert!(parse_error("{{ join .Username \",\" }}").contains("expected []string"));
    assert!(parse_error("{{ eq .Port \"5432\" }}").contains("incompatible types"));
    assert!(parse_error("{{ upper }}").contains("wrong number of args for upper: want 1 got 0"));
    assert!(parse_error("{{ trimPrefix \"a\" \"b\" \"c\" }}").contains("wrong number of args"));
}

#[test]
fn malformed_templates_fail_at_parse_time() {
    for (source, needle) in [
        ("{{ .Username", "unclosed action"),
        ("{{ if .Username }}x", "if without end"),
        ("{{ end }}", "unexpected {{end}}"),
        ("{{ $x := .Username }}", "variables"),
        ("{{ range .Port }}x{{ end }}", "range is not supported"),
        ("{{ template \"x\" }}", "template is not supported"),
        ("{{ \"unterminated }}", "unterminated string"),
        ("{{ .Username .Host }}", "can't give argument to non-function"),
        ("{{ \"a\" | .Host }}", "can't give argument to non-function"),
        ("{{ 1.5 }}", "decimal integers only"),
        ("{{ ( .Host }}", "unclosed"),
        ("{{}}", "missing value for command"),
        ("{{ print upper }}", "call it in parentheses"),
        ("{{ /* open", "unclosed comment"),
    ] {
        let message = parse_error(source);
        assert!(message.contains(needle), "{source:?}: {message}");
    }
    assert!(
        parse_error("ok\n\n{{ .Nope }}").starts_with("line 3:"),
        "errors carry the line"
    );
}

#[test]
fn rendered_values_stay_secret() {
    let rendered = Template::parse("{{ .Password }}")
        .expect("parses")
        .render(&data())
        .expect("renders");
    assert_eq!(format!("{rendered:?}"), "<redacted>");
    assert_eq!(rendered.expose(), "p@ss!w0rd");
    assert!(
        !format!("{:?}", data()).contains("p@ss"),
        "TemplateData's Debug hides the password"
    );
}

#[test]
fn default_keys_for_postgres() {
    let mut data = data();
    data.password = Secret::new("p@ss:w/rd");
    data.ssl_mode = "verify-full".into();
    let keys = default_secret_data(&data, EngineKind::Postgres, &DsnOptions::default()).expect("renders");
    let names: Vec<_> = keys.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "database", "host", "jdbc-uri", "password", "port", "uri", "username"
        ]
    );
    assert_eq!(keys["username"].expose(), "admin");
    assert_eq!(keys["password"].expose(), "p@ss:w/rd");
    assert_eq!(keys["port"].expose(), "5432");
    assert_eq!(
        keys["uri"].expose(),
        "postgresql://admin:p%40ss%3Aw%2Frd@db.example.com:5432/mydb?sslmode=verify-full"
    );
    assert_eq!(
        keys["jdbc-uri"].expose(),
        "jdbc:postgresql://db.example.com:5432/mydb?user=admin&password=p%40ss%3Aw%2Frd&sslmode=verify-full"
    );
}

#[test]
fn default_keys_for_mysql_include_the_go_dsn() {
    let mut data = data();
    data.username = "auth_service".into();
    data.password = Secret::new("s3cr@t:pw");
    data.host = "mysql.internal".into();
    data.port = 3306;
    data.database = "auth_db".into();
    let keys = default_secret_data(&data, EngineKind::MySql, &DsnOptions::default()).expect("renders");
    assert_eq!(
        keys["dsn"].expose(),
        "auth_service:s3cr@t:pw@tcp(mysql.internal:3306)/auth_db?parseTime=true&charset=utf8mb4"
    );
    assert_eq!(
        keys["uri"].expose(),
        "mysql://auth_service:s3cr%40t%3Apw@mysql.internal:3306/auth_db"
    );
    assert_eq!(
        keys["jdbc-uri"].expose(),
        "jdbc:mysql://mysql.internal:3306/auth_db?user=auth_service&password=s3cr%40t%3Apw"
    );
    let mariadb = default_secret_data(&data, EngineKind::MariaDb, &DsnOptions::default()).expect("renders");
    assert!(mariadb["jdbc-uri"].expose().starts_with("jdbc:mariadb://"));
    data.host = "::1".into();
    data.ssl_mode = "require".into();
    let options = DsnOptions {
        parse_time: false,
        charset: "utf8mb4".into(),
        collation: Some("utf8mb4_bin".into()),
    };
    let keys = default_secret_data(&data, EngineKind::MySql, &options).expect("renders");
    assert_eq!(
        keys["dsn"].expose(),
        "auth_service:s3cr@t:pw@tcp([::1]:3306)/auth_db?parseTime=false&charset=utf8mb4&collation=utf8mb4_bin&tls=skip-verify"
    );
    data.username = "a:b".into();
    assert!(
        default_secret_data(&data, EngineKind::MySql, &options).is_err(),
        "':' cannot be written in a DSN user"
    );
    assert!(default_secret_data(&data, EngineKind::Sqlite, &options).is_err());
}
