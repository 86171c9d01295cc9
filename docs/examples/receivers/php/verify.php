<?php
// Verifying a hookpost webhook in PHP with hash_hmac only.
// Run: php verify.php <request.json> <secret> [now-seconds]
// In a real endpoint: $rawBody = file_get_contents('php://input'); headers from getallheaders().

const TOLERANCE_SEC = 300;

function verify_standard(string $rawBody, array $h, string $secret, ?int $now = null): bool {
    $id = $h['webhook-id'] ?? ''; $ts = $h['webhook-timestamp'] ?? ''; $sigs = $h['webhook-signature'] ?? '';
    if ($id === '' || !ctype_digit($ts) || $sigs === '') return false;
    if (abs(($now ?? time()) - (int) $ts) > TOLERANCE_SEC) return false; // replay protection
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    if ($key === false) return false;
    $expected = base64_encode(hash_hmac('sha256', "$id.$ts.$rawBody", $key, true));
    foreach (explode(' ', $sigs) as $entry) { // one v1 entry per active secret during a rotation
        [$version, $sig] = array_pad(explode(',', $entry, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $sig)) return true;
    }
    return false;
}

function verify_mailersend(string $rawBody, array $h, string $secret): bool {
    // MailerSend's own recipe: the whole secret string (whsec_ included) is the key.
    return hash_equals(hash_hmac('sha256', $rawBody, $secret), $h['signature'] ?? '');
}

function parse_items(string $rawBody, string $contentType): array {
    if (str_starts_with($contentType, 'application/x-ndjson')) {
        $lines = array_filter(explode("\n", $rawBody), fn ($l) => $l !== '');
        return array_map(fn ($l) => json_decode($l, true, 512, JSON_THROW_ON_ERROR), array_values($lines));
    }
    return json_decode($rawBody, true, 512, JSON_THROW_ON_ERROR); // a JSON array, even for one event
}

function event_id(array $item): string {
    return str_starts_with($item['type'], 'activity.') ? $item['data']['id'] : $item['data']['event_id'];
}

$request = json_decode(file_get_contents($argv[1]), true);
$body = base64_decode($request['body_base64']);
$h = array_change_key_case($request['headers'], CASE_LOWER);
$standard = verify_standard($body, $h, $argv[2], isset($argv[3]) ? (int) $argv[3] : null);
// (The golden signing vectors have no Content-Type and are not batches: verify only.)
$items = $standard && isset($h['content-type']) ? parse_items($body, $h['content-type']) : [];
echo json_encode([
    'standard' => $standard,
    'mailersend' => verify_mailersend($body, $h, $argv[2]),
    'batch_id' => $h['webhook-id'] ?? null,
    'event_ids' => array_map('event_id', $items),
]), "\n";
exit($standard ? 0 : 1);
