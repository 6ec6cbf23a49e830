//! `sluice-tdengine-testserver <port> [<user> <password>]`: the TDengine test server as a
//! process (test support only; see the library docs for what it covers).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(port) = args.get(1).and_then(|p| p.parse::<u16>().ok()) else {
        eprintln!("usage: sluice-tdengine-testserver <port> [<user> <password>]");
        std::process::exit(2);
    };
    let state = sluice_tdengine_testserver::AppState::default();
    if let (Some(u), Some(p)) = (args.get(2), args.get(3)) {
        let mut store = state.store.lock().unwrap_or_else(|e| e.into_inner());
        store.user = u.clone();
        store.password = p.clone();
    }
    match sluice_tdengine_testserver::TestServer::serve(port, state) {
        Ok(server) => {
            eprintln!("TDengine test server listening on {}", server.url());
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    }
}
