//! A PostgreSQL outage, made by stopping a TCP forwarder between the server and the database:
//! `/readyz` and the API answer 503 at once rather than after the pool's long wait, and the
//! server recovers by itself when the database is reachable again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use mmr::db::Db;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{Backend, TestApp};

/// A TCP forwarder from a loopback port to `target`; stopping it closes every forwarded
/// connection and refuses new ones, as a database that went away.
struct Forwarder {
    port: u16,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Forwarder {
    async fn start(target: SocketAddr) -> Self {
        let mut forwarder = Forwarder { port: 0, target, tasks: Arc::default() };
        forwarder.listen().await;
        forwarder
    }

    /// Listens on the forwarder's port (a free one the first time).
    async fn listen(&mut self) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], self.port))).unwrap();
        let listener = socket.listen(64).unwrap();
        self.port = listener.local_addr().unwrap().port();
        let (target, tasks) = (self.target, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                tasks.lock().unwrap().push(pipe);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_fast_and_recovers() {
    let Some(app) = TestApp::new(Backend::Postgres).await else { return };
    let url = url::Url::parse(&app.url).unwrap();
    let target = SocketAddr::from(([127, 0, 0, 1], url.port().unwrap_or(5432)));
    let mut forwarder = Forwarder::start(target).await;
    let mut proxied = url.clone();
    proxied.set_port(Some(forwarder.port)).unwrap();
    let db = tokio::task::spawn_blocking(move || Db::connect(proxied.as_str()).unwrap()).await.unwrap();
    let mut state = app.state.clone();
    state.db = db;
    let router = mmr::http::router(state);
    let get = |path: &'static str| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let request = axum::http::Request::builder().uri(path).body(axum::body::Body::empty()).unwrap();
            let started = Instant::now();
            let status = router.oneshot(request).await.unwrap().status();
            (status, started.elapsed())
        }
    };
    assert_eq!(get("/readyz").await.0, StatusCode::OK);
    assert_eq!(get("/api/v1/cities").await.0, StatusCode::OK);

    forwarder.stop();
    for _ in 0..3 {
        let (status, took) = get("/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(took < Duration::from_millis(1500), "/readyz took {took:?}");
        let (status, took) = get("/api/v1/cities").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(took < Duration::from_millis(3000), "the API took {took:?}");
    }

    forwarder.listen().await;
    let start = Instant::now();
    loop {
        if get("/readyz").await.0 == StatusCode::OK {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "not ready again after 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(get("/api/v1/cities").await.0, StatusCode::OK);
    forwarder.stop();
}
