// The login page: ask the server whether it wants a token or (no tokens configured) a name, and
// say why the last attempt failed. The form posts to /ui/login by itself; no script is needed.
const failed = new URLSearchParams(location.search).get('failed');
const show = (id, on) => { document.getElementById(id).hidden = !on; };

async function main() {
  const res = await fetch('/ui/session', { cache: 'no-store', credentials: 'same-origin' });
  if (res.ok) {
    location.replace('/ui/');
    return;
  }
  const body = await res.json().catch(() => ({}));
  const byName = body.login === 'name';
  show('token-field', !byName);
  show('name-field', byName);
  (byName ? document.getElementById('name') : document.getElementById('token')).focus();
  if (failed) {
    const p = document.getElementById('login-error');
    p.textContent = failed === 'name' ? 'Say who you are (1-64 printable characters).'
                                      : 'That token is not known here.';
    p.hidden = false;
  }
}

main();
