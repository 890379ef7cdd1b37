import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { IntegerText } from './input-fields';

/** `?limit=` of every paginated list: 1 to 500, the list's own default when absent. */
export class PageQueryDto {
  @IsOptional()
  @IntegerText()
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;
}
