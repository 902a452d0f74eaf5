//! The metrics Service.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::names::{METRICS_PORT, METRICS_PORT_NAME, METRICS_SERVICE, labels, selector_labels};
use crate::settings::Settings;

/// A ClusterIP Service in front of every replica's `/metrics` (port 8080, named `metrics`) for Prometheus.
pub(crate) fn metrics_service(settings: &Settings) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(METRICS_SERVICE.to_owned()),
            namespace: Some(settings.namespace.clone()),
            labels: Some(labels()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector_labels()),
            ports: Some(vec![ServicePort {
                name: Some(METRICS_PORT_NAME.to_owned()),
                port: METRICS_PORT,
                target_port: Some(IntOrString::String(METRICS_PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
