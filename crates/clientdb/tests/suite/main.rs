//! The shared suite: every test runs on SQLite, PostgreSQL and MariaDB, each in its own fresh database.

mod bootstrap;
mod common;
mod http;
mod store;

macro_rules! suite {
    ($($module:ident :: $test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                crate::$module::$test(crate::common::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                crate::$module::$test(crate::common::Backend::Postgres).await
            })*
        }
        mod mariadb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                crate::$module::$test(crate::common::Backend::MariaDb).await
            })*
        }
    };
}

suite!(
    store::schema_migrates_up_and_down,
    store::create_read_update_delete,
    store::duplicate_client_id_is_refused,
    store::go_bcrypt_rows_authenticate_and_are_rehashed,
    store::changed_algorithm_rehashes_on_success,
    store::rotation_keeps_the_old_secret_for_the_grace_period,
    store::disable_and_enable,
    store::cache_is_invalidated_by_another_replica,
    store::expired_secret_is_refused,
    store::unknown_client_costs_a_hash,
    store::only_the_exact_client_id_matches,
    store::registry_connects_by_url_and_migrates,
    bootstrap::bootstrap_twice_and_after_rotation,
    bootstrap::generated_bootstrap_secret_is_kept_in_a_private_file,
    bootstrap::dev_client_uses_the_seeds_secret,
    http::token_flow_with_jwks_introspection_and_discovery,
    http::error_codes_follow_rfc_6749,
    http::basic_credentials_are_form_decoded,
    http::rotation_grace_period_over_http,
    http::disable_refuses_tokens_and_deactivates_introspection,
    http::failed_authentications_are_rate_limited,
    http::cache_invalidation_across_two_servers,
    http::bootstrap_survives_restart_and_rotation,
    http::admin_api_requires_the_bearer_token,
    http::introspection_edge_cases,
);
