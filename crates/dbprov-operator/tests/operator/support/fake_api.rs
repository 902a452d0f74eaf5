//! A fake Kubernetes API server behind `tower-test`'s mock service (as kube-rs's `controller-rs` tests do),
//! with just enough state to play the calls the operator makes: custom resources and their status, Secrets,
//! ConfigMaps, Jobs (`batch/v1`, with foreground deletion left for the test to finish as the garbage
//! collector would), Events. Every write is fed to the informer caches the operator reads, as a watch would. Every request is
//! recorded as one line (`APPLY secret team/app-credentials`), so tests assert the exact call sequence.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use dbprov_api::v1alpha1::{
    ClusterDatabaseInstance, Database, DatabaseBackup, DatabaseBackupSchedule, DatabaseGrant,
    DatabaseInstance, DatabaseMigration, DatabaseRestore, DatabaseRole, DatabaseUser, OAuth2Client,
};
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_test::mock::Handle;

/// The informer caches' write side.
pub struct Writers {
    pub instances: Writer<DatabaseInstance>,
    pub cluster_instances: Writer<ClusterDatabaseInstance>,
    pub databases: Writer<Database>,
    pub roles: Writer<DatabaseRole>,
    pub users: Writer<DatabaseUser>,
    pub grants: Writer<DatabaseGrant>,
    pub migrations: Writer<DatabaseMigration>,
    pub backups: Writer<DatabaseBackup>,
    pub restores: Writer<DatabaseRestore>,
    pub schedules: Writer<DatabaseBackupSchedule>,
    pub oauth2_clients: Writer<OAuth2Client>,
}

fn feed<K: DeserializeOwned + kube::Resource + Clone>(writer: &mut Writer<K>, value: &Value, deleted: bool)
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let object: K = serde_json::from_value(value.clone()).expect("the fake stores valid objects");
    let event = if deleted {
        watcher::Event::Delete(object)
    } else {
        watcher::Event::Apply(object)
    };
    writer.apply_watcher_event(&event);
}

impl Writers {
    fn write(&mut self, plural: &str, value: &Value, deleted: bool) {
        match plural {
            "databaseinstances" => feed(&mut self.instances, value, deleted),
            "clusterdatabaseinstances" => feed(&mut self.cluster_instances, value, deleted),
            "databases" => feed(&mut self.databases, value, deleted),
            "databaseroles" => feed(&mut self.roles, value, deleted),
            "databaseusers" => feed(&mut self.users, value, deleted),
            "databasegrants" => feed(&mut self.grants, value, deleted),
            "databasemigrations" => feed(&mut self.migrations, value, deleted),
            "databasebackups" => feed(&mut self.backups, value, deleted),
            "databaserestores" => feed(&mut self.restores, value, deleted),
            "databasebackupschedules" => feed(&mut self.schedules, value, deleted),
            "oauth2clients" => feed(&mut self.oauth2_clients, value, deleted),
            _ => {}
        }
    }
}

type Key = (String, Option<String>, String);
type Hook = Box<dyn FnMut() + Send>;

struct State {
    objects: BTreeMap<Key, Value>,
    events: Vec<Value>,
    calls: Vec<String>,
    version: u64,
    writers: Writers,
    hooks: Vec<(String, Hook)>,
    failures: Vec<(String, u16)>,
}

#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    })
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().expect("made an object above");
    for (key, value) in fields {
        if value.is_null() {
            target.remove(key);
        } else {
            merge(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

fn finalizers(value: &Value) -> Vec<String> {
    value["metadata"]["finalizers"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl State {
    fn bump(&mut self, value: &mut Value) {
        self.version += 1;
        value["metadata"]["resourceVersion"] = Value::from(self.version.to_string());
    }

    fn store(&mut self, key: Key, mut value: Value) -> Value {
        self.bump(&mut value);
        let deleting = value["metadata"]["deletionTimestamp"].is_string();
        if deleting && finalizers(&value).is_empty() {
            // The last finalizer is gone: the API server deletes the object.
            self.objects.remove(&key);
            self.writers.write(&key.0, &value, true);
        } else {
            self.objects.insert(key.clone(), value.clone());
            self.writers.write(&key.0, &value, false);
        }
        value
    }
}

impl FakeApi {
    pub fn new(writers: Writers) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                objects: BTreeMap::new(),
                events: Vec::new(),
                calls: Vec::new(),
                version: 0,
                writers,
                hooks: Vec::new(),
                failures: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("the fake API lock is never poisoned")
    }

    /// Serves the operator's requests until the client is dropped.
    pub async fn serve(self, mut handle: Handle<Request<Body>, Response<Body>>) {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("request body");
            let content_type = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("the operator sends JSON")
            };
            let query = parts.uri.query().unwrap_or_default().to_owned();
            let (code, value) = self.handle(&parts.method, parts.uri.path(), &query, &content_type, body);
            respond.send_response(
                Response::builder()
                    .status(StatusCode::from_u16(code).expect("valid status"))
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Body::from(serde_json::to_vec(&value).expect("JSON")))
                    .expect("response"),
            );
        }
    }

    /// Runs `hook` (once) when a call starting with `prefix` arrives, before it is answered.
    pub fn on(&self, prefix: &str, hook: impl FnMut() + Send + 'static) {
        self.lock().hooks.push((prefix.to_owned(), Box::new(hook)));
    }

    /// Makes the next call starting with `prefix` fail with `code`.
    pub fn fail_next(&self, prefix: &str, code: u16) {
        self.lock().failures.push((prefix.to_owned(), code));
    }

    fn record(&self, call: String) -> Result<(), (u16, Value)> {
        let hook = {
            let mut state = self.lock();
            state.calls.push(call.clone());
            let position = state
                .hooks
                .iter()
                .position(|(prefix, _)| call.starts_with(prefix.as_str()));
            position.map(|index| state.hooks.remove(index).1)
        };
        if let Some(mut hook) = hook {
            hook();
        }
        let mut state = self.lock();
        if let Some(index) = state
            .failures
            .iter()
            .position(|(prefix, _)| call.starts_with(prefix.as_str()))
        {
            let (_, code) = state.failures.remove(index);
            return Err((code, status(code, "InternalError", "injected failure")));
        }
        Ok(())
    }

    fn handle(
        &self,
        method: &Method,
        path: &str,
        query: &str,
        content_type: &str,
        body: Value,
    ) -> (u16, Value) {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let result = match segments.as_slice() {
            [
                "apis",
                "dbops.dbprovision.io",
                "v1alpha1",
                "namespaces",
                namespace,
                plural,
            ] => self.collection(method, plural, Some(namespace), query, body),
            ["apis", "dbops.dbprovision.io", "v1alpha1", plural] => {
                self.collection(method, plural, None, query, body)
            }
            ["apis", "batch", "v1", "namespaces", namespace, "jobs"] => {
                self.collection(method, "jobs", Some(namespace), query, body)
            }
            ["apis", "batch", "v1", "namespaces", namespace, "jobs", name] => {
                self.job(method, namespace, name, body)
            }
            ["api", "v1", "namespaces", namespace, "configmaps", name] if method == Method::GET => {
                self.config_map(namespace, name)
            }
            [
                "apis",
                "dbops.dbprovision.io",
                "v1alpha1",
                "namespaces",
                namespace,
                plural,
                name,
            ] => self.custom(method, content_type, plural, Some(namespace), name, false, body),
            [
                "apis",
                "dbops.dbprovision.io",
                "v1alpha1",
                "namespaces",
                namespace,
                plural,
                name,
                "status",
            ] => self.custom(method, content_type, plural, Some(namespace), name, true, body),
            ["apis", "dbops.dbprovision.io", "v1alpha1", plural, name] => {
                self.custom(method, content_type, plural, None, name, false, body)
            }
            ["apis", "dbops.dbprovision.io", "v1alpha1", plural, name, "status"] => {
                self.custom(method, content_type, plural, None, name, true, body)
            }
            ["api", "v1", "namespaces", namespace, "secrets", name] => {
                self.secret(method, content_type, namespace, name, body)
            }
            [
                "apis",
                "events.k8s.io",
                "v1",
                "namespaces",
                _namespace,
                "events",
                ..,
            ] => self.event(body),
            _ => {
                self.lock().calls.push(format!("UNEXPECTED {method} {path}"));
                Err((404, status(404, "NotFound", "unexpected request")))
            }
        };
        match result {
            Ok(value) => (200, value),
            Err((code, value)) => (code, value),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn custom(
        &self,
        method: &Method,
        content_type: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
        subresource: bool,
        body: Value,
    ) -> Result<Value, (u16, Value)> {
        let key: Key = (plural.to_owned(), namespace.map(str::to_owned), name.to_owned());
        let label = format!("{}/{name}", namespace.unwrap_or("-"));
        let not_found = || {
            (
                404,
                status(404, "NotFound", &format!("{plural} {name} not found")),
            )
        };
        match (method.as_str(), subresource) {
            ("GET", false) => {
                self.record(format!("GET {plural} {label}"))?;
                self.lock().objects.get(&key).cloned().ok_or_else(not_found)
            }
            ("DELETE", false) => {
                self.record(format!("DELETE {plural} {label}"))?;
                let mut state = self.lock();
                let mut object = state.objects.get(&key).cloned().ok_or_else(not_found)?;
                if finalizers(&object).is_empty() {
                    state.objects.remove(&key);
                    state.writers.write(&key.0, &object, true);
                    return Ok(object);
                }
                if object["metadata"]["deletionTimestamp"].is_null() {
                    object["metadata"]["deletionTimestamp"] = Value::from(now());
                    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
                    object["metadata"]["generation"] = Value::from(generation + 1);
                }
                Ok(state.store(key, object))
            }
            ("PATCH", true) if content_type.starts_with("application/apply-patch") => {
                let phase = body["status"]["phase"].as_str().unwrap_or("-").to_owned();
                self.record(format!("APPLY {plural}/status {label} phase={phase}"))?;
                let mut state = self.lock();
                let mut object = state.objects.get(&key).cloned().ok_or_else(not_found)?;
                object["status"] = body["status"].clone();
                Ok(state.store(key, object))
            }
            ("PATCH", false) if content_type.starts_with("application/merge-patch") => {
                let mut patch = body;
                let state = self.lock();
                let current = state.objects.get(&key).cloned();
                let expected = patch["metadata"]
                    .as_object_mut()
                    .and_then(|metadata| metadata.remove("resourceVersion"));
                drop(state);
                let Some(mut object) = current else {
                    self.record(format!("PATCH {plural} {label}"))?;
                    return Err(not_found());
                };
                merge(&mut object, &patch);
                self.record(format!(
                    "PATCH {plural} {label} finalizers=[{}]",
                    finalizers(&object).join(",")
                ))?;
                let mut state = self.lock();
                if let Some(expected) = expected
                    && state
                        .objects
                        .get(&key)
                        .map(|o| o["metadata"]["resourceVersion"].clone())
                        != Some(expected)
                {
                    return Err((409, status(409, "Conflict", "the object has been modified")));
                }
                Ok(state.store(key, object))
            }
            _ => {
                self.record(format!("UNEXPECTED {method} {plural} {label}"))?;
                Err((405, status(405, "MethodNotAllowed", "not supported by the fake")))
            }
        }
    }

    fn secret(
        &self,
        method: &Method,
        content_type: &str,
        namespace: &str,
        name: &str,
        body: Value,
    ) -> Result<Value, (u16, Value)> {
        let key: Key = ("secrets".to_owned(), Some(namespace.to_owned()), name.to_owned());
        let label = format!("{namespace}/{name}");
        let not_found = || {
            (
                404,
                status(404, "NotFound", &format!("secrets \"{name}\" not found")),
            )
        };
        match method.as_str() {
            "GET" => {
                self.record(format!("GET secret {label}"))?;
                self.lock().objects.get(&key).cloned().ok_or_else(not_found)
            }
            "DELETE" => {
                self.record(format!("DELETE secret {label}"))?;
                let mut state = self.lock();
                state.objects.remove(&key).ok_or_else(not_found)
            }
            "PATCH" if content_type.starts_with("application/apply-patch") => {
                self.record(format!("APPLY secret {label}"))?;
                let mut state = self.lock();
                let object = match state.objects.get(&key).cloned() {
                    None => {
                        let mut created = body;
                        created["metadata"]["uid"] = Value::from(format!("uid-secret-{name}"));
                        created["metadata"]["creationTimestamp"] = Value::from(now());
                        created
                    }
                    Some(mut existing) => {
                        // Server-side apply, simplified: the applied labels, annotations and keys win; the
                        // owner references and type are the applied ones.
                        for field in ["labels", "annotations"] {
                            if body["metadata"][field].is_object() {
                                merge(&mut existing["metadata"][field], &body["metadata"][field]);
                            }
                        }
                        if body["metadata"]["ownerReferences"].is_array() {
                            existing["metadata"]["ownerReferences"] =
                                body["metadata"]["ownerReferences"].clone();
                        }
                        if body["data"].is_object() {
                            merge(&mut existing["data"], &body["data"]);
                        }
                        existing["type"] = body["type"].clone();
                        existing
                    }
                };
                Ok(state.store(key, object))
            }
            "PATCH" if content_type.starts_with("application/merge-patch") => {
                self.record(format!("PATCH secret {label}"))?;
                let mut patch = body;
                let expected = patch["metadata"]
                    .as_object_mut()
                    .and_then(|metadata| metadata.remove("resourceVersion"));
                let mut state = self.lock();
                let mut object = state.objects.get(&key).cloned().ok_or_else(not_found)?;
                if let Some(expected) = expected
                    && object["metadata"]["resourceVersion"] != expected
                {
                    return Err((409, status(409, "Conflict", "the object has been modified")));
                }
                merge(&mut object, &patch);
                Ok(state.store(key, object))
            }
            _ => {
                self.record(format!("UNEXPECTED {method} secret {label}"))?;
                Err((405, status(405, "MethodNotAllowed", "not supported by the fake")))
            }
        }
    }

    fn config_map(&self, namespace: &str, name: &str) -> Result<Value, (u16, Value)> {
        self.record(format!("GET configmap {namespace}/{name}"))?;
        let key: Key = (
            "configmaps".to_owned(),
            Some(namespace.to_owned()),
            name.to_owned(),
        );
        self.lock().objects.get(&key).cloned().ok_or_else(|| {
            (
                404,
                status(404, "NotFound", &format!("configmaps \"{name}\" not found")),
            )
        })
    }

    /// A collection: POST creates, GET lists (with an equality `labelSelector`).
    fn collection(
        &self,
        method: &Method,
        plural: &str,
        namespace: Option<&str>,
        query: &str,
        body: Value,
    ) -> Result<Value, (u16, Value)> {
        let scope = namespace.unwrap_or("-");
        match method.as_str() {
            "POST" => {
                let mut object = body;
                let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                self.record(format!("CREATE {plural} {scope}/{name}"))?;
                let key: Key = (plural.to_owned(), namespace.map(str::to_owned), name.clone());
                let mut state = self.lock();
                if state.objects.contains_key(&key) {
                    return Err((
                        409,
                        status(
                            409,
                            "AlreadyExists",
                            &format!("{plural} \"{name}\" already exists"),
                        ),
                    ));
                }
                if let Some(namespace) = namespace {
                    object["metadata"]["namespace"] = Value::from(namespace);
                }
                object["metadata"]["uid"] = Value::from(format!("uid-{plural}-{name}"));
                object["metadata"]["creationTimestamp"] = Value::from(now());
                object["metadata"]["generation"] = Value::from(1);
                Ok(state.store(key, object))
            }
            "GET" => {
                let selector: Vec<(String, String)> = query
                    .split('&')
                    .filter_map(|pair| pair.strip_prefix("labelSelector="))
                    .flat_map(|selector| {
                        let decoded = selector
                            .replace("%3D", "=")
                            .replace("%2F", "/")
                            .replace("%2C", ",");
                        decoded
                            .split(',')
                            .filter_map(|term| term.split_once('='))
                            .map(|(key, value)| (key.to_owned(), value.to_owned()))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                self.record(format!("LIST {plural} {scope}"))?;
                let state = self.lock();
                let items: Vec<Value> = state
                    .objects
                    .iter()
                    .filter(|((kind, object_namespace, _), _)| {
                        kind == plural && (namespace.is_none() || object_namespace.as_deref() == namespace)
                    })
                    .map(|(_, object)| object)
                    .filter(|object| {
                        selector
                            .iter()
                            .all(|(key, value)| object["metadata"]["labels"][key.as_str()] == value.as_str())
                    })
                    .cloned()
                    .collect();
                Ok(json!({
                    "apiVersion": "v1", "kind": "List",
                    "metadata": {"resourceVersion": state.version.to_string()},
                    "items": items
                }))
            }
            _ => {
                self.record(format!("UNEXPECTED {method} {plural} {scope}"))?;
                Err((405, status(405, "MethodNotAllowed", "not supported by the fake")))
            }
        }
    }

    /// One Job: GET, and DELETE (foreground deletion leaves it marked, with the `foregroundDeletion`
    /// finalizer, until the test removes it as the garbage collector would once its pods are gone).
    fn job(&self, method: &Method, namespace: &str, name: &str, body: Value) -> Result<Value, (u16, Value)> {
        let key: Key = ("jobs".to_owned(), Some(namespace.to_owned()), name.to_owned());
        let label = format!("{namespace}/{name}");
        let not_found = || {
            (
                404,
                status(404, "NotFound", &format!("jobs.batch \"{name}\" not found")),
            )
        };
        match method.as_str() {
            "GET" => {
                self.record(format!("GET job {label}"))?;
                self.lock().objects.get(&key).cloned().ok_or_else(not_found)
            }
            "DELETE" => {
                let policy = body["propagationPolicy"].as_str().unwrap_or("-").to_owned();
                self.record(format!("DELETE job {label} propagation={policy}"))?;
                let mut state = self.lock();
                let mut object = state.objects.get(&key).cloned().ok_or_else(not_found)?;
                if policy == "Foreground" {
                    if object["metadata"]["deletionTimestamp"].is_null() {
                        object["metadata"]["deletionTimestamp"] = Value::from(now());
                        object["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
                    }
                    Ok(state.store(key, object))
                } else {
                    state.objects.remove(&key);
                    Ok(object)
                }
            }
            _ => {
                self.record(format!("UNEXPECTED {method} job {label}"))?;
                Err((405, status(405, "MethodNotAllowed", "not supported by the fake")))
            }
        }
    }

    fn event(&self, body: Value) -> Result<Value, (u16, Value)> {
        self.record(format!(
            "EVENT {} {}",
            body["type"].as_str().unwrap_or("-"),
            body["reason"].as_str().unwrap_or("-")
        ))?;
        self.lock().events.push(body.clone());
        Ok(body)
    }

    // ---- the test's side (like kubectl: not recorded as calls) ----

    /// Creates an object (custom resource or Secret) as `kubectl apply` would.
    pub fn create(&self, mut value: Value) {
        let kind = value["kind"].as_str().expect("kind").to_owned();
        let plural = plural(&kind);
        let namespace = value["metadata"]["namespace"].as_str().map(str::to_owned);
        let name = value["metadata"]["name"].as_str().expect("name").to_owned();
        value["metadata"]["uid"] = Value::from(format!("uid-{}-{name}", kind.to_lowercase()));
        value["metadata"]["creationTimestamp"] = Value::from(now());
        if !matches!(kind.as_str(), "Secret" | "ConfigMap" | "Job") {
            value["metadata"]["generation"] = Value::from(1);
        }
        let mut state = self.lock();
        state.store((plural, namespace, name), value);
    }

    /// Changes an object; a changed `spec` bumps the generation, as the API server does.
    pub fn update(&self, kind: &str, namespace: Option<&str>, name: &str, change: impl FnOnce(&mut Value)) {
        let key: Key = (plural(kind), namespace.map(str::to_owned), name.to_owned());
        let mut state = self.lock();
        let mut object = state.objects.get(&key).cloned().expect("object exists");
        let spec = object["spec"].clone();
        change(&mut object);
        if object["spec"] != spec {
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
            object["metadata"]["generation"] = Value::from(generation + 1);
        }
        state.store(key, object);
    }

    /// `kubectl delete`: marks the object (its generation bumps) or removes it when it has no finalizers.
    pub fn delete(&self, kind: &str, namespace: Option<&str>, name: &str) {
        let key: Key = (plural(kind), namespace.map(str::to_owned), name.to_owned());
        let mut state = self.lock();
        let Some(mut object) = state.objects.get(&key).cloned() else {
            return;
        };
        if matches!(kind, "Secret" | "ConfigMap") {
            state.objects.remove(&key);
            return;
        }
        if object["metadata"]["deletionTimestamp"].is_null() {
            object["metadata"]["deletionTimestamp"] = Value::from(now());
            let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
            object["metadata"]["generation"] = Value::from(generation + 1);
        }
        state.store(key, object);
    }

    /// Removes an object at once, whatever its finalizers (the garbage collector finishing a foreground
    /// deletion, or a Job deleted by hand).
    pub fn remove(&self, kind: &str, namespace: Option<&str>, name: &str) {
        let key: Key = (plural(kind), namespace.map(str::to_owned), name.to_owned());
        let mut state = self.lock();
        if let Some(object) = state.objects.remove(&key) {
            state.writers.write(&key.0, &object, true);
        }
    }

    /// Every stored object of a kind in a namespace.
    pub fn list(&self, kind: &str, namespace: &str) -> Vec<Value> {
        let plural = plural(kind);
        self.lock()
            .objects
            .iter()
            .filter(|((object_kind, object_namespace, _), _)| {
                *object_kind == plural && object_namespace.as_deref() == Some(namespace)
            })
            .map(|(_, object)| object.clone())
            .collect()
    }

    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key: Key = (plural(kind), namespace.map(str::to_owned), name.to_owned());
        self.lock().objects.get(&key).cloned()
    }

    pub fn object<K: DeserializeOwned>(&self, kind: &str, namespace: Option<&str>, name: &str) -> K {
        let value = self
            .get(kind, namespace, name)
            .unwrap_or_else(|| panic!("{kind} {name} exists"));
        serde_json::from_value(value).expect("valid object")
    }

    /// A key of a Secret, decoded.
    pub fn secret_value(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        let secret = self.get("Secret", Some(namespace), name)?;
        let encoded = secret["data"][key].as_str()?.to_owned();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("Secret data is base64");
        Some(String::from_utf8(bytes).expect("UTF-8 secret"))
    }

    /// Sets a key of a Secret (as a user editing it would).
    pub fn set_secret_value(&self, namespace: &str, name: &str, key: &str, value: &str) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        self.update("Secret", Some(namespace), name, |secret| {
            secret["data"][key] = Value::from(encoded);
        });
    }

    /// The calls recorded so far, cleared.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().calls)
    }

    /// Every event published (reason, type, note).
    pub fn events(&self) -> Vec<(String, String, String)> {
        self.lock()
            .events
            .iter()
            .map(|event| {
                (
                    event["reason"].as_str().unwrap_or_default().to_owned(),
                    event["type"].as_str().unwrap_or_default().to_owned(),
                    event["note"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

fn plural(kind: &str) -> String {
    match kind {
        "Secret" => "secrets".to_owned(),
        "ConfigMap" => "configmaps".to_owned(),
        "Job" => "jobs".to_owned(),
        other => dbprov_api::Kind::from_manifest(other)
            .unwrap_or_else(|| panic!("unknown kind {other}"))
            .plural()
            .to_owned(),
    }
}
