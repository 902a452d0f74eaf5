//! Certificates for the test servers: a CA, a server certificate for 127.0.0.1/localhost and a client
//! certificate, generated fresh for every run.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, SanType,
};

/// The files written into a TLS directory.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    pub dir: PathBuf,
}

impl TlsMaterial {
    pub const CA: &'static str = "ca.pem";
    pub const SERVER_CERT: &'static str = "server.pem";
    pub const SERVER_KEY: &'static str = "server-key.pem";
    pub const CLIENT_CERT: &'static str = "client.pem";
    pub const CLIENT_KEY: &'static str = "client-key.pem";
    /// A second CA that signed nothing: verifying against it must fail.
    pub const OTHER_CA: &'static str = "other-ca.pem";

    /// Generates the CA, server and client certificates into `dir`. The client certificate's common name is
    /// `client_cn` (PostgreSQL's `cert` authentication maps it to the user of that name).
    pub fn generate(dir: &Path, client_cn: &str) -> Self {
        std::fs::create_dir_all(dir).expect("create the TLS directory");
        let (ca_cert, ca_key) = make_ca("dbprov test CA");
        let ca = ca_params("dbprov test CA");
        let issuer = Issuer::from_params(&ca, &ca_key);

        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).expect("valid server name");
        server
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("an IP address")));
        server.distinguished_name.push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("generate a server key");
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        let mut client = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
        client.distinguished_name.push(DnType::CommonName, client_cn);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().expect("generate a client key");
        let client_cert = client
            .signed_by(&client_key, &issuer)
            .expect("sign the client certificate");

        let (other_ca, _) = make_ca("unrelated CA");

        write(dir, Self::CA, &ca_cert);
        write(dir, Self::SERVER_CERT, &server_cert.pem());
        write(dir, Self::SERVER_KEY, &server_key.serialize_pem());
        write(dir, Self::CLIENT_CERT, &client_cert.pem());
        write(dir, Self::CLIENT_KEY, &client_key.serialize_pem());
        write(dir, Self::OTHER_CA, &other_ca);
        for key in [Self::SERVER_KEY, Self::CLIENT_KEY] {
            set_mode(&dir.join(key), 0o600);
        }
        Self { dir: dir.to_owned() }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("empty SAN list");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params
}

fn make_ca(name: &str) -> (String, KeyPair) {
    let key = KeyPair::generate().expect("generate a CA key");
    let cert = ca_params(name).self_signed(&key).expect("self-sign the CA");
    (cert.pem(), key)
}

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).unwrap_or_else(|e| panic!("write {name}: {e}"));
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod a file we wrote");
}
