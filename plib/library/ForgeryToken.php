<?php
/**
 * The extension's own forgery-protection token. IndexController and UiController hand it to the screens (prop
 * forgeryToken); ApiController refuses every write whose X-OML-Forgery-Token header does not match it.
 *
 * Where a PHP session is active the token is random and kept in it. Plesk does not promise one to extensions, and
 * without it every screen failed; there the token is signed instead: "s1.<issued>.<HMAC>" over the Plesk user's
 * id and login and the time it was issued, with a key kept in the extension's settings (pm_Settings, which only
 * the panel reads). A page elsewhere cannot read either kind, and nobody can make a signed one without the key;
 * a signed token is accepted for SIGNED_LIFETIME, so an old copy stops working even with no session to end.
 */
class Modules_OutgoingMailLimits_ForgeryToken
{
    const SESSION_KEY = 'outgoing-mail-limits.forgery-token';
    const HEADER = 'X-OML-Forgery-Token';
    const KEY_SETTING = 'forgeryTokenKey';
    /** A screen left open over a working day asks for a reload before its next change. */
    const SIGNED_LIFETIME = 43200;
    const SIGNED_PREFIX = 's1.';

    /** The token of this session, or a signed one for the signed-in Plesk user where PHP has no session. */
    public static function current($now = null)
    {
        if (session_status() === PHP_SESSION_ACTIVE) {
            if (empty($_SESSION[self::SESSION_KEY]) || !is_string($_SESSION[self::SESSION_KEY])) {
                $_SESSION[self::SESSION_KEY] = bin2hex(random_bytes(32));
            }
            return $_SESSION[self::SESSION_KEY];
        }
        return self::signed(pm_Session::getClient(), $now === null ? time() : (int) $now);
    }

    /** True when the request carries this session's token, or a signed token of this user that is still valid. */
    public static function matches($sent, $now = null)
    {
        if (!is_string($sent) || $sent === '') {
            return false;
        }
        if (strpos($sent, self::SIGNED_PREFIX) === 0) {
            return self::signedMatches(pm_Session::getClient(), $sent, $now === null ? time() : (int) $now);
        }
        return session_status() === PHP_SESSION_ACTIVE
            && !empty($_SESSION[self::SESSION_KEY]) && is_string($_SESSION[self::SESSION_KEY])
            && hash_equals($_SESSION[self::SESSION_KEY], $sent);
    }

    private static function signed(pm_Client $client, $issued)
    {
        return self::SIGNED_PREFIX . $issued . '.' . self::mac($client, $issued);
    }

    private static function signedMatches(pm_Client $client, $sent, $now)
    {
        if (!preg_match('/^s1\.(\d{1,12})\.[0-9a-f]{64}$/', $sent, $parts)) {
            return false;
        }
        $issued = (int) $parts[1];
        // Not yet issued (a clock set back) or too old: refused, the screen says to reload.
        if ($issued > $now + 60 || $now - $issued > self::SIGNED_LIFETIME) {
            return false;
        }
        return hash_equals(self::signed($client, $issued), $sent);
    }

    private static function mac(pm_Client $client, $issued)
    {
        $message = "outgoing-mail-limits forgery token\n" . $client->getId() . "\n" . $client->getLogin() . "\n" . $issued;
        return hash_hmac('sha256', $message, self::key());
    }

    /** The signing key: 32 random bytes made at first use and kept in the extension's settings. */
    private static function key()
    {
        $key = pm_Settings::get(self::KEY_SETTING);
        if (!is_string($key) || !preg_match('/^[0-9a-f]{64}$/', $key)) {
            $key = bin2hex(random_bytes(32));
            pm_Settings::set(self::KEY_SETTING, $key);
        }
        return hex2bin($key);
    }
}
