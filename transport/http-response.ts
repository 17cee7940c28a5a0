/** An HTTP answer as the routes produce it; each transport writes it its own way. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  426: 'Upgrade Required',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const jsonAnswer = (status: number, value: unknown): HttpAnswer => ({
  status,
  body: JSON.stringify(value),
});
export const errorAnswer = (status: number, error: string): HttpAnswer => jsonAnswer(status, { error });

/** Headers of an answer, content type included. */
export const answerHeaders = (a: HttpAnswer): Record<string, string> => ({
  'content-type': a.contentType ?? 'application/json',
  ...a.headers,
});
