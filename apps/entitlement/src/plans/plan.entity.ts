import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import { PlanFeature } from './plan-feature.entity';

/** Plans are versioned: a change creates a new version, subscriptions keep theirs. */
@Entity({ name: 'plans' })
export class Plan {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column('text')
  key!: string;

  @Column('int')
  version!: number;

  @Column('text')
  name!: string;

  @OneToMany(() => PlanFeature, (f) => f.plan, { cascade: ['insert'], eager: true })
  features!: PlanFeature[];

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
