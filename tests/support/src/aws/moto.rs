//! Runs a moto server (PyPI `moto[server]`) as a child process for a test: on a free loopback
//! port, ready before [`MotoServer::spawn`] returns, and killed by PID when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::GatewayError;

/// moto imports every service model on start; on a loaded 2-core machine that can take a while.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Another process can take the port between our probe and moto's bind; try a few ports.
const PORT_ATTEMPTS: usize = 3;

/// A running moto_server.
pub struct MotoServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub port: u16,
    child: Child,
}

impl MotoServer {
    /// Finds moto_server: `$MOTO_SERVER_BIN`, then the CI venv (`.ci/work/venv` in this
    /// checkout, then in `/work/main`), then `/work/venv-moto`.
    pub fn locate() -> Result<PathBuf, GatewayError> {
        if let Some(path) = std::env::var_os("MOTO_SERVER_BIN") {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(GatewayError::MotoNotFound(format!(
                    "MOTO_SERVER_BIN={} is not a file",
                    path.display()
                )))
            };
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let candidates = [
            repo.join(".ci/work/venv/bin/moto_server"),
            PathBuf::from("/work/main/.ci/work/venv/bin/moto_server"),
            PathBuf::from("/work/venv-moto/bin/moto_server"),
        ];
        candidates
            .iter()
            .find(|p| p.is_file())
            .cloned()
            .ok_or_else(|| {
                let tried: Vec<String> =
                    candidates.iter().map(|p| p.display().to_string()).collect();
                GatewayError::MotoNotFound(format!(
                    "set MOTO_SERVER_BIN or install `moto[server]==5.2.5` into a venv; tried {}",
                    tried.join(", ")
                ))
            })
    }

    /// Starts moto from `bin` (the moto_server executable, or the venv `bin` directory holding
    /// it) and waits until it answers.
    pub async fn spawn(bin: impl AsRef<Path>) -> Result<Self, GatewayError> {
        let bin = bin.as_ref();
        let exe = if bin.is_dir() {
            bin.join("moto_server")
        } else {
            bin.to_path_buf()
        };
        let mut last = String::new();
        for _ in 0..PORT_ATTEMPTS {
            match Self::start_on_free_port(&exe).await {
                Ok(server) => return Ok(server),
                Err(GatewayError::MotoStart(message)) => last = message,
                Err(other) => return Err(other),
            }
        }
        Err(GatewayError::MotoStart(last))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn start_on_free_port(exe: &Path) -> Result<Self, GatewayError> {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| GatewayError::MotoNotFound(format!("{}: {e}", exe.display())))?;
        let mut server = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            child,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Polls moto's reset endpoint, which also proves the API is up, until it answers 200.
    async fn wait_ready(&mut self) -> Result<(), GatewayError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let url = format!("{}/moto-api/reset", self.url);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(GatewayError::MotoStart(format!(
                    "exited with {status} on port {}",
                    self.port
                )));
            }
            if client
                .post(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(GatewayError::MotoStart(format!(
            "no answer on port {} within {READY_TIMEOUT:?}",
            self.port
        )))
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // `Child::kill` signals this child's own PID only, never a process group or name.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
