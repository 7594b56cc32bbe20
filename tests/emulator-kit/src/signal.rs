//! The end of an emulator binary's run.

/// Waits for SIGINT (Ctrl-C) or SIGTERM; elsewhere than Unix, for Ctrl-C.
pub async fn shutdown() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
