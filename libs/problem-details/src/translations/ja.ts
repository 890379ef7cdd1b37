import type { ProblemDetailVariant } from '../problem-registry';
import type { Catalogue } from './catalogue';

/** Japanese titles and details of every problem code (a missing one fails to compile). */
export const ja: Catalogue = {
  unauthenticated: {
    title: '認証されていません',
    detail:
      '有効な API キーが必要です。"Authorization: Bearer <キー>" または "X-API-Key" で送信してください。',
  },
  forbidden: {
    title: '禁止されています',
    detail: 'この API キーではこの操作は許可されていません。',
  },
  'subscription-expired': {
    title: 'サブスクリプションの期限切れ',
    detail: '{plan} のサブスクリプションは終了しました。続けるには更新してください。',
  },
  'subscription-past-due': {
    title: '支払い期限超過',
    detail:
      '{plan} の前回のお支払いに失敗し、猶予期間が終了しました。続けるにはお支払い方法を更新してください。',
  },
  'account-suspended': {
    title: 'アカウント停止中',
    detail: '未払いのためアカウントが停止されています。続けるには未払い残高をお支払いください。',
  },
  'payment-pending': {
    title: '支払い処理中',
    detail: 'お支払いを処理しています。しばらくしてから再度お試しください。',
  },
  'insufficient-credits': {
    title: 'クレジット不足',
    detail:
      'このリクエストには {required} クレジットが必要ですが、残高は {balance} です。続けるにはチャージしてください。',
  },
  'payment-invalid': {
    title: '支払いが受け付けられませんでした',
    detail:
      'このリクエストで送信された支払いは受け付けられませんでした。続行するには、このレスポンスのいずれかのオファーを支払ってください。',
  },
  'payment-expired': {
    title: '支払いオファーの期限切れ',
    detail:
      'この支払いが応答するオファーは期限切れです。このレスポンスの新しいオファーのいずれかを支払ってください。',
  },
  'payment-underpaid': {
    title: '支払い額の不足',
    detail:
      '支払い額がオファーの要求額を下回っています。このレスポンスのいずれかのオファーを支払ってください。',
  },
  'payment-replayed': {
    title: '使用済みの支払い',
    detail: 'この支払いはすでに使用されています。続行するには新しい支払いを送信してください。',
  },
  'payment-required': {
    title: '支払いが必要です',
    detail:
      'このリソースは呼び出しごとの支払いで、アカウントは不要です。このレスポンスのいずれかのオファーを支払い、支払いを付けてリクエストを再送してください。',
  },
  'payment-unavailable': {
    title: '支払いを利用できません',
    detail:
      '現在、支払いを完了できません。しばらくしてから同じ支払いで再試行してください。支払いが使われるのは一度だけです。',
  },
  'quota-exhausted': {
    title: '利用枠の上限に達しました',
    detail:
      '{plan} に含まれる {feature} の {limit} 単位のうち {used} 単位を使用しました。続けるにはプランをアップグレードしてください。',
  },
  'feature-not-in-plan': {
    title: 'プランに含まれない機能',
    detail:
      '{feature} は {plan} に含まれていません。利用するにはプランをアップグレードしてください。',
  },
  'rate-limited': {
    title: 'リクエストが多すぎます',
    detail: 'リクエストの頻度を下げてください。プランのレート制限に達しました。',
  },
  'customer-blocked': {
    title: 'アカウントがブロックされています',
    detail:
      'このアカウントは API 提供者によってブロックされています。ブロックの解除は提供者にお問い合わせください。',
  },
  'concurrency-limited': {
    title: '同時リクエストが多すぎます',
    detail:
      'リクエストの完了をお待ちください。プランでは {feature} への同時リクエストは {limit} 件までです。',
  },
  'validation-failed': {
    title: '無効なリクエスト',
    detail: 'リクエストが無効です。問題のあるフィールドは errors を参照してください。',
  },
  'not-found': { title: '見つかりません', detail: 'リソースが存在しません。' },
  conflict: { title: '競合', detail: 'リクエストが現在の状態と競合しています。' },
  'payload-too-large': {
    title: 'リクエストが大きすぎます',
    detail: 'リクエスト本文が許可されたサイズを超えています。',
  },
  'unsupported-media-type': {
    title: 'サポートされていないメディアタイプ',
    detail: 'このエンドポイントはリクエスト本文のコンテンツタイプを受け付けません。',
  },
  'method-not-allowed': {
    title: '許可されていないメソッド',
    detail: 'このエンドポイントはリクエストメソッドをサポートしていません。',
  },
  'bad-request': {
    title: '不正なリクエスト',
    detail: 'リクエストの形式が正しくないため処理できません。',
  },
  'request-timeout': {
    title: 'リクエストタイムアウト',
    detail: 'リクエストが時間内に受信されませんでした。',
  },
  'uri-too-long': {
    title: 'URI が長すぎます',
    detail: 'リクエスト URI が許可されている長さを超えています。',
  },
  'request-header-fields-too-large': {
    title: 'ヘッダーが大きすぎます',
    detail: 'リクエストヘッダーが許可されているサイズを超えています。',
  },
  'expectation-failed': {
    title: '期待に応えられません',
    detail:
      'サーバーはリクエストの Expect フィールドに応えられません。既知の値は 100-continue のみです。',
  },
  'http-version-not-supported': {
    title: 'HTTP バージョンはサポートされていません',
    detail:
      'サポートされているのは HTTP/1.1 と HTTP/1.0 のみです。リクエストは HTTP/1.1 で送信してください。',
  },
  'not-implemented': {
    title: '未実装',
    detail: 'このサーバーはリクエストメソッドをサポートしていません。',
  },
  'entitlement-unavailable': {
    title: '権利確認サービスを利用できません',
    detail: '現在アクセスを確認できませんでした。しばらくしてから再度お試しください。',
  },
  'service-unavailable': {
    title: 'サービスを利用できません',
    detail: 'サービスは現在リクエストを受け付けていません。しばらくしてから再度お試しください。',
  },
  'upstream-unavailable': {
    title: 'アップストリームに接続できません',
    detail: 'アップストリームのサービスに接続できませんでした。',
  },
  'upstream-timeout': {
    title: 'アップストリームのタイムアウト',
    detail: 'アップストリームのサービスが時間内に応答しませんでした。',
  },
  'internal-error': {
    title: '内部エラー',
    detail: 'こちら側で問題が発生しました。サポートへの連絡時はリクエスト ID をお伝えください。',
  },
};

/** Japanese PROBLEM_DETAIL_VARIANTS. */
export const jaVariants: Record<ProblemDetailVariant, string> = {
  'events-refused':
    'このリクエストのイベントは 1 件も受け付けられていません。無効なイベントが 1 件でもあるとリクエスト全体が拒否されます。errors に無効なイベントがインデックスとフィールドごとに示されています。修正してからリクエストを再送してください。',
  'no-route':
    'このパスで提供されている API はありません。API ドキュメントで URL をご確認ください。',
  'path-not-absolute': 'パスは「/」で始まる必要があります。',
  'path-backslash': 'パスにバックスラッシュを含めることはできません。',
  'path-malformed-escape': 'パスのパーセントエンコーディングが不正です。',
  'path-encoded-slash':
    'パスにエンコードされたスラッシュやバックスラッシュを含めることはできません。',
  'path-dot-parameters': 'パスにパラメーター付きのドットセグメントがあります。',
  'target-other-host': 'リクエストターゲットが Host ヘッダーとは別のホストを指定しています。',
};
