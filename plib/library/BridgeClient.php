<?php
/**
 * The one place that talks to the bridge: HTTP over the daemon's unix socket, every request signed with the
 * bridge secret (HMAC-SHA256, as backend-bridge/src/api/auth/signature.ts defines it):
 *
 *   canonical = METHOD \n path?query \n sha256hex(body) \n timestamp \n nonce \n login \n userId \n role \n permitted
 *   X-OML-Signature = hex HMAC-SHA256(secret bytes, canonical)
 *
 * "permitted" is a customer's X-OML-Permitted-Subscriptions value (the subscriptions with "Manage outgoing mail
 * limits", comma-separated) or "" when the header is not sent: other roles, or a customer without any.
 */
class Modules_OutgoingMailLimits_BridgeClient
{
    const API_PREFIX = '/api/v1';
    const NOT_RUNNING = 'The outgoing mail limits service is not running';
    const PERMITTED_SUBSCRIPTIONS_HEADER = 'X-OML-Permitted-Subscriptions';

    /** @var string */
    private $socketPath;
    /** @var string */
    private $secretPath;
    /** @var Modules_OutgoingMailLimits_Identity */
    private $identity;
    /** @var int */
    private $timeoutSeconds;

    public function __construct($socketPath, $secretPath, Modules_OutgoingMailLimits_Identity $identity, $timeoutSeconds = 30)
    {
        $this->socketPath = $socketPath;
        $this->secretPath = $secretPath;
        $this->identity = $identity;
        $this->timeoutSeconds = $timeoutSeconds;
    }

    /** A client for the person signed in to Plesk. */
    public static function forSession()
    {
        return self::inDataDir(Modules_OutgoingMailLimits_Identity::fromClient(pm_Session::getClient()));
    }

    /** A client acting as the Plesk integration itself (directory sync, install): the administrator role. */
    public static function forIntegration()
    {
        return self::inDataDir(Modules_OutgoingMailLimits_Identity::integration());
    }

    /** The daemon's data directory is the extension's var directory (post-install starts it there). */
    public static function inDataDir(Modules_OutgoingMailLimits_Identity $identity, $dataDir = null)
    {
        $dir = rtrim($dataDir === null ? pm_Context::getVarDir() : $dataDir, '/');
        return new self($dir . '/api.sock', $dir . '/bridge.secret', $identity);
    }

    /** @return Modules_OutgoingMailLimits_Identity */
    public function identity()
    {
        return $this->identity;
    }

    /**
     * Sends one request. $pathAndQuery is below /api/v1 (e.g. "/mailboxes?search=a"); $body is the raw JSON text
     * or null. Returns ['status' => int, 'body' => string, 'contentType' => string], whatever the status.
     *
     * @throws Modules_OutgoingMailLimits_BridgeUnavailableException when the daemon cannot be reached
     */
    public function request($method, $pathAndQuery, $body = null)
    {
        $method = strtoupper($method);
        $path = self::API_PREFIX . $pathAndQuery;
        $payload = $body === null ? '' : (string) $body;
        $headers = [];
        foreach ($this->signatureHeaders($method, $path, $payload) as $name => $value) {
            $headers[] = $name . ': ' . $value;
        }
        if ($payload !== '') {
            $headers[] = 'Content-Type: application/json';
        }
        $headers[] = 'Expect:'; // no "100-continue" round trip for larger bodies

        if (!file_exists($this->socketPath)) {
            throw new Modules_OutgoingMailLimits_BridgeUnavailableException(self::NOT_RUNNING . " (no socket at {$this->socketPath}).");
        }
        $curl = curl_init('http://localhost' . $path);
        curl_setopt_array($curl, [
            CURLOPT_UNIX_SOCKET_PATH => $this->socketPath,
            CURLOPT_CUSTOMREQUEST => $method,
            CURLOPT_HTTPHEADER => $headers,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HEADER => false,
            CURLOPT_TIMEOUT => $this->timeoutSeconds,
            CURLOPT_CONNECTTIMEOUT => 5,
            // The signature covers the path as written: curl must send it untouched.
            CURLOPT_PATH_AS_IS => true,
        ]);
        if ($payload !== '' || in_array($method, ['POST', 'PUT', 'PATCH'], true)) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $payload);
        }
        $answer = curl_exec($curl);
        if ($answer === false) {
            $error = curl_error($curl);
            curl_close($curl);
            throw new Modules_OutgoingMailLimits_BridgeUnavailableException(self::NOT_RUNNING . " ({$error}).");
        }
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        $contentType = (string) curl_getinfo($curl, CURLINFO_CONTENT_TYPE);
        curl_close($curl);
        return ['status' => $status, 'body' => (string) $answer, 'contentType' => $contentType];
    }

    /**
     * A request with a PHP value as JSON body; returns ['status' => int, 'data' => decoded body or null].
     *
     * @throws Modules_OutgoingMailLimits_BridgeUnavailableException
     */
    public function json($method, $pathAndQuery, $data = null)
    {
        $body = $data === null ? null : json_encode($data, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        $answer = $this->request($method, $pathAndQuery, $body);
        $decoded = $answer['body'] === '' ? null : json_decode($answer['body'], true);
        return ['status' => $answer['status'], 'data' => $decoded];
    }

    /** The X-OML-* headers for one request. */
    public function signatureHeaders($method, $path, $payload, $timestamp = null, $nonce = null)
    {
        $timestamp = $timestamp === null ? time() : (int) $timestamp;
        // 16 random bytes as base64url without padding: 22 characters, the format the bridge accepts.
        $nonce = $nonce === null ? rtrim(strtr(base64_encode(random_bytes(16)), '+/', '-_'), '=') : $nonce;
        $permitted = implode(',', (array) $this->identity->permittedSubscriptions);
        $canonical = implode("\n", [
            strtoupper($method),
            $path,
            hash('sha256', $payload),
            (string) $timestamp,
            $nonce,
            $this->identity->login,
            $this->identity->userId,
            $this->identity->role,
            $permitted,
        ]);
        $headers = [
            'X-OML-Login' => $this->identity->login,
            'X-OML-User-Id' => $this->identity->userId,
            'X-OML-Role' => $this->identity->role,
            'X-OML-Timestamp' => (string) $timestamp,
            'X-OML-Nonce' => $nonce,
            'X-OML-Signature' => hash_hmac('sha256', $canonical, $this->secret()),
        ];
        // Not sent when empty (curl drops a header without a value); the bridge reads absent as "none".
        if ($permitted !== '') {
            $headers[self::PERMITTED_SUBSCRIPTIONS_HEADER] = $permitted;
        }
        return $headers;
    }

    /** The secret's bytes; the file holds them as 64 hex digits (the daemon creates it at first start). */
    private function secret()
    {
        $text = @file_get_contents($this->secretPath);
        if ($text === false) {
            throw new Modules_OutgoingMailLimits_BridgeUnavailableException(
                self::NOT_RUNNING . " (cannot read {$this->secretPath}; the daemon creates it at first start and must be started with --api-group for the panel to read it)."
            );
        }
        $hex = trim($text);
        if (!preg_match('/^[0-9a-fA-F]{64}$/', $hex)) {
            throw new Modules_OutgoingMailLimits_BridgeUnavailableException("{$this->secretPath} does not hold 64 hexadecimal digits.");
        }
        return hex2bin($hex);
    }
}
